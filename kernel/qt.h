/* SPDX-License-Identifier: GPL-2.0 */
/*
 * quectel.ko internal interfaces.
 *
 * Objects and lifetime
 * --------------------
 * struct qt_modem is one attached modem (one tty with our line discipline).
 * It is created by the ldisc open() and reference counted (kref):
 *   - the tty holds one reference from open() until close();
 *   - every user that finds the modem through qt_modem_get_by_index()
 *     or the modem list holds one until qt_modem_put().
 * The modem is on the modem list from open() until detach; a modem off the
 * list can no longer be found. ->tty is valid while the channel is not
 * dead: detach marks the channel dead under its lock and cancels the
 * transmit work before it lets go of the tty.
 *
 * struct qt_cmd is one AT command. It is reference counted: the submitter
 * holds one reference and the channel one from qt_chan_submit() until the
 * command completes, so a submitter that stops waiting (signal) can drop
 * its reference while the modem still answers.
 *
 * Teardown (ldisc hangup and close, in this order)
 * --------------------------------------------------
 *  1. stop new entry: the channel is marked dead, every later submit fails
 *     with -ENODEV;
 *  2. complete every in-flight and queued command with -ENODEV, which
 *     wakes their waiters (the bring-up work among them);
 *  3. cancel the works: bring-up/restart, command timeout, transmit;
 *  4. unlist the modem, drop the tty;
 *  5. the tty's reference goes; the last qt_modem_put() frees.
 * Step 2 precedes step 3 because the bring-up work sleeps on commands:
 * cancelling it first would wait for a command nobody will answer.
 *
 * Locking
 * -------
 * qt_modems_lock (mutex)     the modem list and index allocation.
 * qt_chan.lock (mutex)       the command queue, the in-flight command, the
 *                            parser, the output buffer and ->dead. Held
 *                            while the parser runs, so token callbacks
 *                            (URC handlers) run with it held and must not
 *                            sleep on commands; they queue work instead.
 * qt_modem.state_lock (spin) the bring-up state and counters read by /proc.
 * Order: qt_modems_lock -> qt_chan.lock -> qt_modem.state_lock.
 *
 * Calling contexts
 * ----------------
 * receive_buf (6.1: the tty's buffer work, process context, serialized per
 * tty) feeds the parser under qt_chan.lock. A command line and its
 * payload are written to the tty under qt_chan.lock by whoever makes them
 * due (the submitter, the receive path on a prompt or a final result):
 * the tty's write only takes its own spinlocks. write_wakeup may run in
 * hard interrupt context (8250) and only schedules the transmit work,
 * which writes the rest and the transparent bytes. Everything else runs in
 * process context: syscalls, the module workqueue.
 */
#ifndef QT_H
#define QT_H

#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/tty.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>

#include <linux/quectel.h>
#include <net/sock.h>

#include "at_parse.h"

#define QT_MODEM_NAME_LEN	16
#define QT_CMD_LINE_MAX		448	/* a command line, without the CR */
#define QT_CMD_RESP_MAX		512	/* response lines kept, '\n'-joined */
#define QT_OUT_MAX		2048	/* output buffer: one line or payload */
#define QT_INFO_MAX		64	/* model, revision, IMEI strings */

/* The result of a command, in qt_cmd.final. */
enum qt_final {
	QT_FINAL_NONE,		/* not completed by the modem (see status) */
	QT_FINAL_OK,
	QT_FINAL_ERROR,
	QT_FINAL_CME,		/* +CME ERROR: code */
	QT_FINAL_CMS,		/* +CMS ERROR: code */
	QT_FINAL_SEND_OK,
	QT_FINAL_SEND_FAIL,
	QT_FINAL_CONNECT,
	QT_FINAL_NO_CARRIER,
	QT_FINAL_CLOSE_OK,
	QT_FINAL_DEACT_OK,
	QT_FINAL_ALREADY_CONNECT,	/* legacy AT+QIOPEN */
	QT_FINAL_CONNECT_FAIL,		/* legacy AT+QIOPEN */
};

struct qt_cmd;
typedef void (*qt_cmd_done_t)(struct qt_cmd *cmd);

struct qt_cmd {
	struct kref		kref;
	struct list_head	node;		/* on qt_chan.queue */
	char			line[QT_CMD_LINE_MAX];
	unsigned int		line_len;
	/* lines starting with this are responses even if they look like URCs */
	const char		*resp_prefix;
	char			prefix_buf[24];	/* a resp_prefix built at run time */
	unsigned long		timeout;	/* jiffies from the write */
	u8			*payload;	/* written after "> ", owned */
	unsigned int		payload_len;

	/* results, valid once ->done */
	bool			done;
	int			status;		/* 0, -ETIMEDOUT, -ENODEV, ... */
	enum qt_final		final;
	int			code;		/* CME/CMS error code */
	char			resp[QT_CMD_RESP_MAX];
	unsigned int		resp_len;
	struct completion	completion;

	/* optional: QIRD payload sink, called with qt_chan.lock held */
	void (*on_payload)(struct qt_cmd *cmd, const u8 *data, size_t len);
	/*
	 * Legacy dialect. result_id >= 0: "[<id>, ]ALREADY CONNECT" and
	 * "CONNECT FAIL" of that index end this AT+QIOPEN. info_final: the
	 * first information line ends it (AT+QILOCIP answers the address
	 * alone). end_prefix: OK comes first, the command ends with the line
	 * starting with this (AT+QISTAT prints its state after the OK).
	 */
	int			result_id;
	bool			info_final;
	bool			ok_seen;
	const char		*end_prefix;
	/* transparent mode: a "CONNECT" final hands the line to @raw_id */
	bool			enter_raw;
	int			raw_id;
	/* optional: called once done, process context, no lock held */
	qt_cmd_done_t		on_done;
	void			*priv;
	/* optional: go only if @after ended well (qt_cmd_set_after()) */
	struct qt_cmd		*after;
	bool			(*after_ok)(const struct qt_cmd *prev);
	bool			ended;		/* finished by the channel */
};

struct qt_chan {
	struct mutex		lock;		/* see "Locking" */
	bool			dead;
	struct list_head	queue;
	struct list_head	done;		/* finished, to complete unlocked */
	struct qt_cmd		*inflight;
	bool			prompt_wait;	/* inflight has a payload to send */
	unsigned long		deadline;	/* of the in-flight command */
	struct delayed_work	timeout_work;
	struct work_struct	tx_work;
	struct at_parser	parser;
	/* transparent mode: every byte is one connection's (qt_modem.raw) */
	bool			raw;
	bool			rx_stopped;	/* bytes left in the tty: no room */
	const u8		*refeed;	/* after leaving it: tokenize these */
	unsigned int		room_last;	/* the tty's write room, and */
	unsigned long		room_changed;	/* when it last changed */
	size_t			refeed_len;
	/* a direct-push payload being parsed: its connectID (-1: none) */
	int			push_id;
	unsigned int		push_len;
	struct sk_buff		*push_skb;	/* NULL: no memory, dropped */
	unsigned int		out_off, out_len;
	u8			out[QT_OUT_MAX];
};

/* Commands with a timeout of their own (vendor notes); the rest: DEFAULT. */
enum qt_tmo {
	QT_TMO_DEFAULT,		/* any command: 60 s */
	QT_TMO_QIACT,		/* 150 s */
	QT_TMO_QIOPEN,		/* 150 s for the +QIOPEN URC */
	QT_TMO_QICLOSE,		/* 10 s */
	QT_TMO_QIDEACT,		/* 40 s */
	QT_TMO_CFUN,		/* AT+CFUN: 15 s */
	QT_TMO_CGATT,		/* AT+CGATT=1: 180 s (legacy note) */
	QT_TMO_NR
};

#define QT_MAX_CONNS		12	/* connectIDs 0..11 */
#define QT_READ_MAX		1500	/* AT+QIRD length */
#define QT_READ_BURST		4	/* AT+QIRD per read turn (qt_conn_read) */
#define QT_SWITCH_DRAIN_READS	8	/* reads before a mode switch goes anyway */
#define QT_SEND_MAX		1460	/* AT+QISEND length; largest datagram */
#define QT_SEND_BURST		4	/* AT+QISEND per send turn (qt_conn_send) */
#define QT_MAX_CTX		16	/* PDP contexts 1..16 */

/*
 * A connectID of the modem (struct qt_modem.slots[]). Protected by
 * qt_modem.conn_lock. URC handlers only record events here and kick the
 * data worker, which owns every transition of the socket.
 */
enum qt_slot_state {
	QT_SLOT_FREE,
	QT_SLOT_RESERVED,	/* a socket took it; AT+QIOPEN not yet sent */
	QT_SLOT_OPENING,	/* AT+QIOPEN answered OK; waiting for +QIOPEN */
	QT_SLOT_OPEN,		/* connected, listening or serving */
	QT_SLOT_INCOMING,	/* +QIURC "incoming": qs is the listener */
	QT_SLOT_CLOSING,	/* AT+QICLOSE wanted, then free */
};

/* What a connectID is to the module (the <service_type> of AT+QIOPEN). */
enum qt_service {
	QT_SVC_TCP,		/* "TCP" client, and "TCP INCOMING" */
	QT_SVC_UDP,		/* "UDP" client */
	QT_SVC_TCP_LISTENER,	/* "TCP LISTENER" */
	QT_SVC_UDP_SERVICE,	/* "UDP SERVICE" */
};

struct qt_sock;

struct qt_slot {
	enum qt_slot_state	state;
	/*
	 * The socket, with a reference; NULL: an orphan the engine closes.
	 * In QT_SLOT_INCOMING, the listener the connection arrived on.
	 */
	struct qt_sock		*qs;
	bool			sent;		/* RESERVED: AT+QIOPEN is on its way */
	bool			forget;		/* the modem forgot it: no AT+QICLOSE */
	/*
	 * The module gave this connectID to an incoming connection while we
	 * still held it (our AT+QIOPEN for it cannot succeed): once our use
	 * ends, the slot is closed instead of freed, so that connection is
	 * not leaked.
	 */
	bool			in_collision;
	/* legacy: CONNECT FAIL; AT+QISTAT tells what to close (the note) */
	bool			connect_failed;
	int			ctx;
	unsigned long		deadline;	/* OPENING: the +QIOPEN limit */
	int			open_err;	/* +QIOPEN <err>, -1 none yet */
	bool			rx_urc;		/* +QIURC "recv" seen */
	bool			closed_urc;	/* +QIURC "closed" seen */
	int			error;		/* pending socket error (errno) */
	/* QT_SLOT_INCOMING: the client */
	u16			peer_port;
	char			peer[48];
};

/*
 * An AF_QUECTEL socket. sk_state uses the TCP numbers: TCP_CLOSE (no
 * connection), TCP_SYN_SENT (AT+QIOPEN under way: connecting, opening a
 * listener or a UDP service), TCP_ESTABLISHED (connected, or a UDP
 * service open), TCP_LISTEN, TCP_CLOSE_WAIT (the peer closed; buffered
 * data still readable). The fields below are protected by the socket lock
 * (lock_sock) unless noted.
 */
struct qt_sock {
	struct sock		sk;		/* must be first */
	struct qt_modem		*modem;		/* referenced; set by connect/bind */
	enum qt_service		service;
	int			id;		/* connectID, -1 if none */
	int			ctx;
	char			host[QT_HOST_MAX];
	u16			port;
	u16			local_port;
	/* bind(): local_port is ours; on the modem's bound list (conn_lock) */
	bool			bound;
	bool			auto_port;	/* bound to port 0: ours to pick */
	bool			accepted;	/* an incoming connection */
	struct list_head	bind_node;
	/* listener: accepted connections not yet accept()ed; child: its node */
	struct list_head	accept_q;
	struct list_head	accept_node;
	enum qt_access_mode	mode;		/* of the connectID */
	enum qt_access_mode	mode_wanted;	/* setsockopt on a live socket */
	int			mode_err;	/* the switch's result */
	u64			rx_dropped;	/* direct push: no room, dropped */
	unsigned int		tx_queued;	/* bytes on sk_write_queue */
	unsigned int		rx_queued;	/* bytes on sk_receive_queue */
	bool			rx_pending;	/* the modem may hold data for us */
	bool			peer_closed;	/* +QIURC "closed" seen */
	bool			close_wanted;	/* released: flush, then close */
	bool			read_last;	/* last command a read: send next */
	u8			switch_reads;	/* reads while a mode switch waits */
	unsigned int		sendfail_ms;	/* SEND FAIL back-off, 0 if none */
	u32			fail_unacked;	/* module's unacked bytes at SEND FAIL */
	unsigned long		next_send;	/* jiffies */
	unsigned long		next_ack_check;	/* SO_KEEPALIVE */
	u32			last_acked;
	unsigned int		ack_stalls;
	/* legacy flow control (AT+QISACK): see legacy.c */
	u32			lg_unacked;	/* the module's, plus sent since */
	unsigned int		lg_poll_ms;	/* 0: not waiting for acks */
	unsigned int		lg_stalls;	/* 5 s polls without progress */
};

/*
 * Datagrams on the queues of a UDP service carry their peer in skb->cb:
 * the sender (receive queue) or the destination (send queue).
 */
struct qt_dgram_cb {
	u16	port;
	u8	family;			/* AF_INET, AF_INET6 */
	u8	addr[16];
};

static inline struct qt_dgram_cb *qt_dgram_cb(struct sk_buff *skb)
{
	BUILD_BUG_ON(sizeof(struct qt_dgram_cb) > sizeof(skb->cb));
	return (struct qt_dgram_cb *)skb->cb;
}

static inline struct qt_sock *qt_sk(const struct sock *sk)
{
	return (struct qt_sock *)sk;
}

/* Bring-up steps and states, as /proc shows them. */
enum qt_modem_state {
	QT_STATE_SYNC,		/* AT every 500 ms, up to 15 tries */
	QT_STATE_CONFIG,	/* ATE0, identification */
	QT_STATE_SIM,		/* AT+CPIN? until READY, 20 s */
	QT_STATE_CREG,		/* AT+CREG? until 1 or 5, 90 s */
	QT_STATE_PSREG,		/* AT+CGREG?/AT+CEREG?, 60 s, then on */
	QT_STATE_READY,
	QT_STATE_RESTARTING,	/* AT+CFUN=1,1 sent, waiting for RDY */
	QT_STATE_BACKOFF,	/* waiting before the next restart */
	QT_STATE_DETACHED,
	QT_STATE_NR
};

struct seq_file;

struct qt_modem_stats {
	u64 rx_bytes;		/* bytes received from the tty */
	u64 tx_bytes;		/* bytes written to the tty */
	u64 commands;		/* commands completed by a final result */
	u64 timeouts;		/* commands that timed out */
	u64 urcs;		/* unsolicited result codes */
	u64 incoming_full;	/* +QIURC "incoming full": module refused a client */
	u64 accept_overflow;	/* incoming connections closed: backlog full */
	u32 restarts;		/* AT+CFUN=1,1 sent */
	u32 reboots;		/* RDY seen outside a restart we asked for */
};

#define QT_APN_MAX		62
#define QT_CRED_MAX		127	/* PDP user name and password */

/* A PDP context as netlink configured it (qt_modem.ctx_cfg, ctx_lock). */
struct qt_ctx_cfg {
	bool	set;
	u8	type;			/* enum qt_ctx_type */
	u8	auth;			/* enum qt_ctx_auth */
	char	apn[QT_APN_MAX + 1];
	char	user[QT_CRED_MAX + 1];
	char	pass[QT_CRED_MAX + 1];
};

struct qt_ping;

/*
 * Transparent mode (transparent.c): one connectID owns the line. The
 * fields are protected by conn_lock, but for held[]/held_len (chan->lock
 * and conn_lock: the parser's) and txbuf/plus_until (the engine's own).
 */
enum qt_raw_state {
	QT_RAW_DATA,		/* bytes flow */
	QT_RAW_ESCAPING,	/* "+++" written to leave: waiting for OK */
	QT_RAW_PROBING,		/* "+++" written to check a NO CARRIER */
};

struct qt_raw {
	int			id;		/* connectID owning the line, -1 */
	enum qt_raw_state	state;
	bool			left;		/* OK came: command mode again */
	bool			suspect;	/* held[] is a whole NO CARRIER */
	unsigned int		held_pending;	/* held_len, for the engine */
	unsigned long		last_rx;
	unsigned long		escape_at;	/* when "+++" went out */
	unsigned long		last_tx;	/* the last byte written to the tty */
	u8			held[16];	/* a tail that may be NO CARRIER/OK */
	unsigned int		held_len;
	unsigned long		plus_until;	/* '+' pacing, see qt_raw_tx() */
	u8			txbuf[QT_OUT_MAX];
};

/* A consistent copy of what a modem reports (/proc, netlink). */
struct qt_modem_info {
	enum qt_modem_state	state;
	const char		*reason;	/* static string or NULL */
	unsigned int		restart_failures;
	unsigned long		next_restart_s;	/* in QT_STATE_BACKOFF */
	char			model[QT_INFO_MAX];
	char			revision[QT_INFO_MAX];
	char			imei[QT_INFO_MAX];
	struct qt_modem_stats	stats;
	struct at_parser_stats	parser;
	int			rssi, ber, reg;
};

/* The command set a modem speaks (legacy.c). */
enum qt_dialect {
	QT_DIALECT_MODERN,	/* EC2x/BG9x/RG50xQ: spec/001 */
	QT_DIALECT_LEGACY,	/* GSM M-series: spec/000 */
};

#define QT_LEGACY_CONNS		6	/* AT+QIMUX=1: indexes 0..5 */

struct qt_modem {
	struct kref		kref;
	struct list_head	node;		/* on the modem list */
	int			index;		/* N of qm<N> */
	char			name[QT_MODEM_NAME_LEN];
	char			tty_name[64];
	possible_net_t		net;		/* namespace of the attacher */
	struct tty_struct	*tty;		/* see "Objects and lifetime" */
	bool			detached;	/* under qt_modems_lock */

	struct qt_chan		chan;

	spinlock_t		state_lock;	/* the fields below */
	enum qt_modem_state	state;
	const char		*fail_reason;	/* why the last bring-up failed */
	unsigned int		bringup_failures; /* in a row */
	unsigned int		restart_failures; /* restarts in a row that failed */
	unsigned long		next_restart;	/* jiffies, in QT_STATE_BACKOFF */
	char			model[QT_INFO_MAX];
	char			revision[QT_INFO_MAX];
	char			imei[QT_INFO_MAX];
	struct qt_modem_stats	stats;
	int			rssi, ber;	/* last AT+CSQ, -1 unknown */
	int			reg;		/* last AT+CREG? <stat>, -1 unknown */
	struct qt_ping		*ping;		/* the AT+QPING under way */

	bool			restart_due;	/* next bring-up restarts first */
	bool			rdy_seen;	/* RDY after our AT+CFUN=1,1 */
	bool			rebooted;	/* RDY out of the blue */
	wait_queue_head_t	wait;		/* bring-up sleeps, RDY */
	struct delayed_work	bringup_work;	/* bring-up, restart, back-off */
	/* per-command timeouts, from the vendor notes unless overridden */
	unsigned int		cmd_timeout_ms[QT_TMO_NR];
	u32			tmo_user;	/* bit n: class n set by netlink */
	/* chosen at bring-up from the model, or forced by dialect_choice */
	enum qt_dialect		dialect;
	/*
	 * QT_DIALECT_AUTO or a dialect + 1: the dialect parameter at attach,
	 * or netlink's. state_lock for writes.
	 */
	int			dialect_choice;
	unsigned int		qiact_failures;	/* legacy: AT+QIACT in a row */
	unsigned int		ready_gen;	/* bring-ups that reached ready */
	unsigned int		fail_gen;	/* ctx_lock: the one the counts are of */

	/* PDP contexts (ctx.c): serializes their commands; deact_failures */
	struct mutex		ctx_lock;
	struct qt_ctx_cfg	ctx_cfg[QT_MAX_CTX + 1];	/* conn_lock */
	unsigned int		deact_failures;	/* AT+QIDEACT failures in a row */
	struct mutex		ping_lock;	/* one AT+QPING at a time */

	/* connections (conn.c) */
	spinlock_t		conn_lock;	/* slots[], ctx_*, bound */
	struct qt_slot		slots[QT_MAX_CONNS];
	/* direct push: data the parser took for a slot, until the engine runs */
	struct sk_buff_head	push_q[QT_MAX_CONNS];
	/*
	 * Bytes in push_q plus those the engine took from it and has not yet
	 * moved into the socket's rx_queued (qt_conn_deliver_pushed()): the
	 * room check of a new push must see them, or the receive queue
	 * outgrows SO_RCVBUF.
	 */
	unsigned int		push_bytes[QT_MAX_CONNS];
	u64			push_dropped[QT_MAX_CONNS];
	u32			ctx_active;	/* bit n: context n active */
	u32			ctx_reactivate;	/* bit n: 5 failed opens in a row */
	u32			ctx_deact;	/* bit n: pdpdeact, AT+QIDEACT wanted */
	u8			ctx_open_failures[QT_MAX_CTX + 1];
	struct list_head	bound;		/* bound sockets, by bind_node */
	char			ctx_ip[QT_MAX_CTX + 1][48];
	struct qt_raw		raw;
	struct delayed_work	data_work;	/* the connection engine */
	bool			data_dead;	/* detached: the engine stops */
	/* engine only: read/send turns in this pass and the last one */
	unsigned int		data_turns, data_turns_last;
};

/* main.c: module parameters and the module's workqueue. */
extern int qt_ldisc_num;
extern int qt_family;
extern char *qt_apn;
extern int qt_default_context;
/* qt_dialect_forced: QT_DIALECT_AUTO, or an enum qt_dialect plus one */
#define QT_DIALECT_AUTO		0
extern int qt_dialect_forced;
extern struct workqueue_struct *qt_wq;

/* at_chan.c */
void qt_chan_init(struct qt_modem *modem);
void qt_chan_kill(struct qt_modem *modem, int err);
void qt_chan_fail_all_locked(struct qt_modem *modem, int err);
size_t qt_chan_rx(struct qt_modem *modem, const u8 *data, size_t len);
void qt_chan_rx_restart(struct qt_modem *modem);
void qt_chan_tx_work(struct work_struct *work);
struct qt_cmd *qt_cmd_alloc(gfp_t gfp, const char *fmt, ...) __printf(2, 3);
void qt_cmd_put(struct qt_cmd *cmd);
int qt_chan_submit(struct qt_modem *modem, struct qt_cmd *cmd);
int qt_chan_exec(struct qt_modem *modem, struct qt_cmd *cmd);
int qt_chan_wait(struct qt_cmd *cmd);
void qt_cmd_set_after(struct qt_cmd *cmd, struct qt_cmd *prev,
		      bool (*ok)(const struct qt_cmd *prev));
int qt_chan_exec_wait(struct qt_modem *modem, struct qt_cmd *cmd, long timeout);
void qt_chan_set_push(struct qt_modem *modem, int id, bool on);
int qt_chan_raw_write(struct qt_modem *modem, const u8 *buf, size_t len);
unsigned int qt_chan_raw_room(struct qt_modem *modem);
bool qt_chan_out_drained(struct qt_modem *modem, unsigned int settle_ms);
#define QT_UNSEEN_MAX_MS	2000
unsigned int qt_chan_unseen_ms(struct qt_modem *modem);
void qt_chan_raw_leave_locked(struct qt_modem *modem, const u8 *rest, size_t len);
void qt_chan_raw_off(struct qt_modem *modem);
void qt_chan_set_push_locked(struct qt_modem *modem, int id, bool on);
int qt_chan_simple(struct qt_modem *modem, unsigned int timeout_ms,
		   const char *fmt, ...) __printf(3, 4);
enum qt_tmo qt_cmd_timeout_class(const char *line);
extern const unsigned int qt_default_timeout_ms[QT_TMO_NR];

/* modem.c */
struct qt_modem *qt_modem_create(struct tty_struct *tty);
void qt_modem_detach(struct qt_modem *modem);
void qt_modem_hold(struct qt_modem *modem);
struct qt_modem *qt_modem_get_next(struct net *net, int index);
void qt_modem_snapshot(struct qt_modem *modem, struct qt_modem_info *info);
void qt_modem_refresh_radio(struct qt_modem *modem);
void qt_modem_request_restart(struct qt_modem *modem, const char *reason);
void qt_modem_put(struct qt_modem *modem);
struct qt_modem *qt_modem_get_by_index(struct net *net, int index);
void qt_modem_urc(struct qt_modem *modem, const struct at_token *tok);
int qt_modem_query(struct qt_modem *modem, const char *line,
		   const char *prefix, char *buf, size_t len);
const char *qt_modem_state_name(enum qt_modem_state state);
int qt_modems_show(struct seq_file *seq, struct net *net);

/* ctx.c: PDP contexts */
bool qt_apn_valid(const char *apn);
int qt_ctx_ensure(struct qt_modem *modem, int ctx);
int qt_ctx_up(struct qt_modem *modem, int ctx);
int qt_ctx_down(struct qt_modem *modem, int ctx, bool user);
int qt_ctx_set(struct qt_modem *modem, int ctx, const struct qt_ctx_cfg *cfg);
void qt_ctx_get_cfg(struct qt_modem *modem, int ctx, struct qt_ctx_cfg *cfg);
void qt_ctx_open_result(struct qt_modem *modem, int ctx, bool ok);

/* conn.c: the connection engine */
void qt_conn_init(struct qt_modem *modem);
void qt_conn_kick(struct qt_modem *modem);
void qt_conn_urc(struct qt_modem *modem, const struct at_token *tok);
void qt_conn_reset_all(struct qt_modem *modem, int err);
void qt_conn_stop(struct qt_modem *modem);
int qt_errno_of_module_error(int code);
int qt_conn_last_error(struct qt_modem *modem);
int qt_conn_query_acks(struct qt_modem *modem, int id, u32 *acked, u32 *unacked);
struct sk_buff *qt_conn_push_alloc(const struct at_token *tok);
unsigned int qt_tx_peek(struct qt_sock *qs, unsigned int skip, u8 *buf,
			unsigned int max, char *dest, size_t dest_len);
void qt_tx_consume(struct qt_sock *qs, unsigned int n);
void qt_conn_set_mode(struct qt_sock *qs, int id, int mode, int err);
void qt_conn_push_end(struct qt_modem *modem, int id, unsigned int len,
		      struct sk_buff *skb);
bool qt_modem_is_ready(struct qt_modem *modem);
void qt_sock_set_closed(struct qt_sock *qs, int err);
void qt_sock_wake(struct sock *sk);

/* legacy.c: the M-series dialect */
static inline bool qt_legacy(const struct qt_modem *modem)
{
	return READ_ONCE(modem->dialect) == QT_DIALECT_LEGACY;
}

static inline int qt_max_conns(const struct qt_modem *modem)
{
	return qt_legacy(modem) ? QT_LEGACY_CONNS : QT_MAX_CONNS;
}

void qt_dialect_choose(struct qt_modem *modem);
void qt_ctx_fresh_counts(struct qt_modem *modem);
int qt_dialect_parse(const char *word);
const char *qt_dialect_choice_name(int choice);
void qt_dialect_set_choice(struct qt_modem *modem, int choice);
const char *qt_dialect_name(const struct qt_modem *modem);
int qt_legacy_fix_rate(struct qt_modem *modem);
int qt_legacy_bringup(struct qt_modem *modem);
int qt_legacy_ctx_query(struct qt_modem *modem);
int qt_legacy_ctx_activate(struct qt_modem *modem, bool user);
int qt_legacy_open(struct qt_modem *modem, int id, bool udp, const char *host,
		   u16 port);
struct qt_cmd *qt_legacy_read_cmd(int id);
int qt_legacy_read_len(const struct qt_cmd *cmd, unsigned int got);
int qt_legacy_send_room(struct qt_modem *modem, struct qt_sock *qs, int id,
			unsigned int *room);
void qt_legacy_sent(struct qt_sock *qs, unsigned int n);
int qt_legacy_query_acks(struct qt_modem *modem, int id, u32 *acked, u32 *unacked);
void qt_legacy_close(struct qt_modem *modem, int id, bool connect_failed);
void qt_legacy_result(struct qt_modem *modem, const struct at_token *tok);

/* ldisc.c */
int qt_ldisc_register(void);
void qt_ldisc_unregister(void);

/* sock.c: the family, and what every socket type shares */
struct qt_addr {			/* a parsed, validated address */
	char host[QT_HOST_MAX];
	u16 port;
	int modem;
	int ctx;
};

int qt_sock_register(void);
void qt_sock_unregister(void);
int qt_parse_addr(const struct sockaddr *uaddr, int len, struct qt_addr *addr,
		  bool local);
struct sock *qt_sock_alloc(struct net *net, struct socket *sock, int type,
			   int kern);
int qt_sock_connect(struct socket *sock, struct sockaddr *uaddr, int len,
		    int flags);
int qt_sock_open(struct sock *sk, struct qt_modem *modem, enum qt_service svc,
		 int ctx, long timeo);
void qt_sock_release_conn(struct qt_sock *qs);
int qt_sock_getname(struct socket *sock, struct sockaddr *uaddr, int peer);
int qt_sock_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg);
int qt_sock_setsockopt(struct socket *sock, int level, int optname,
		       sockptr_t optval, unsigned int optlen);
int qt_sock_getsockopt(struct socket *sock, int level, int optname,
		       char __user *optval, int __user *optlen);
int qt_sock_release(struct socket *sock);
int qt_sock_shutdown(struct socket *sock, int how);
int qt_wait_error(struct sock *sk, long timeo);
int qt_wait_sndbuf(struct sock *sk, long *timeo, unsigned int need);
int qt_epipe(int flags);
void qt_fill_name(struct sockaddr_qt *sqt, const struct qt_sock *qs,
		  const char *host, u16 port);

/* stream.c */
extern const struct proto_ops qt_stream_ops;

/* dgram.c */
extern const struct proto_ops qt_dgram_ops;

/* listen.c: bind, listen, accept */
int qt_bind(struct socket *sock, struct sockaddr *uaddr, int len);
int qt_bind_auto(struct socket *sock, int modem, int ctx);
void qt_unbind(struct qt_sock *qs);
int qt_listen(struct socket *sock, int backlog);
int qt_accept(struct socket *sock, struct socket *newsock, int flags, bool kern);
int qt_serve_open(struct sock *sk, long timeo);
void qt_listener_close_queue(struct list_head *queue);
struct qt_sock *qt_child_new(struct qt_sock *lqs, int id, const char *peer,
			     u16 peer_port);

/* What the connection engine does next for one slot. */
enum qt_op {
	QT_OP_NONE, QT_OP_OPEN, QT_OP_READ, QT_OP_SEND, QT_OP_CLOSE, QT_OP_ACK,
	QT_OP_MODE, QT_OP_RAW_TX, QT_OP_RAW_ESCAPE, QT_OP_RAW_AFTER, QT_OP_RAW_FLUSH,
};

/* The engine's next wake-up: the earlier of @next and @when (jiffies). */
static inline void qt_next_deadline(unsigned long *next, unsigned long when)
{
	if (time_before(when, *next))
		*next = when;
}

/* transparent.c */
void qt_raw_init(struct qt_modem *modem);
void qt_raw_entered(struct qt_modem *modem, int id);
void qt_raw_rx(struct qt_modem *modem, const u8 *data, size_t len);
size_t qt_raw_rx_room(struct qt_modem *modem);
void qt_raw_tx_done(struct qt_modem *modem, unsigned int n);
bool qt_raw_busy(struct qt_modem *modem, int id);
enum qt_op qt_raw_next_op(struct qt_modem *modem, struct qt_sock *qs,
			  unsigned long *next);
void qt_raw_tx(struct qt_modem *modem, struct qt_sock *qs);
void qt_raw_escape(struct qt_modem *modem, struct qt_sock *qs);
void qt_raw_flush(struct qt_modem *modem);
void qt_raw_after(struct qt_modem *modem, struct qt_sock *qs, int id);

/* genl.c: the control family, events, ping */
int qt_genl_register(void);
void qt_genl_unregister(void);
void qt_genl_event(struct qt_modem *modem, enum qt_event ev, const char *reason,
		   int ctx, u32 backoff_ms);
void qt_ping_urc(struct qt_modem *modem, const struct at_token *tok);
void qt_ping_abort(struct qt_modem *modem, int err);

/* proc.c */
int qt_proc_register(void);
void qt_proc_unregister(void);

#endif /* QT_H */
