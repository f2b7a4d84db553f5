// SPDX-License-Identifier: GPL-2.0
/*
 * The connection engine: every AT command a socket needs (context
 * activation, AT+QIOPEN, AT+QIRD, AT+QISEND, AT+QICLOSE, ack checks) is
 * issued by one worker per modem, which also makes every transition of a
 * connected socket under its socket lock. URC handlers only record what
 * happened in the modem's slot table and kick the worker; socket calls only
 * queue data, reserve a slot and wait.
 *
 * Slot ownership: a slot holds a reference on its socket (slot->qs) from
 * connect() until the worker frees the slot. A socket that gives up a
 * connect (signal, close) orphans its slot (qs = NULL); only the worker
 * (or detach) frees slots, after AT+QICLOSE where the modem may know the
 * connectID, so a late +QIOPEN can never reach a new owner.
 */
#include <linux/inet.h>
#include <linux/jiffies.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <net/tcp_states.h>

#include "qt.h"

#define QT_SENDFAIL_MIN_MS	100
#define QT_SENDFAIL_MAX_MS	1000
#define QT_ACK_CHECK_MS		5000
#define QT_ACK_STALLS_MAX	24

/* Module error codes (+QIOPEN <err>, AT+QIGETERROR) and their errnos. */
static const struct {
	u16 code;
	int err;
} qt_module_errors[] = {
	{ 551, -EAGAIN },		/* operation blocked */
	{ 552, -EINVAL },		/* invalid parameters */
	{ 553, -ENOBUFS },		/* memory allocation failed */
	{ 554, -ENOBUFS },		/* socket creation failed */
	{ 555, -EOPNOTSUPP },		/* not supported */
	{ 556, -EADDRINUSE },		/* bind failed */
	{ 561, -ENETUNREACH },		/* PDP activation failed */
	{ 563, -EADDRNOTAVAIL },	/* connectID in use */
	{ 564, -EAGAIN },		/* DNS busy */
	{ 565, -EHOSTUNREACH },		/* DNS parse failed */
	{ 566, -ECONNREFUSED },		/* connect failed */
	{ 567, -ECONNRESET },		/* connection reset */
	{ 568, -EAGAIN },		/* busy */
	{ 569, -ETIMEDOUT },		/* timeout */
	{ 570, -ENETDOWN },		/* PDP context deactivated */
	{ 572, -EACCES },		/* not allowed */
	{ 573, -EADDRINUSE },		/* port busy */
};

/* 0 for success, the errno of a known code, -EIO for anything else. */
int qt_errno_of_module_error(int code)
{
	unsigned int i;

	if (!code)
		return 0;
	for (i = 0; i < ARRAY_SIZE(qt_module_errors); i++)
		if (qt_module_errors[i].code == code)
			return qt_module_errors[i].err;
	return -EIO;
}

bool qt_modem_is_ready(struct qt_modem *modem)
{
	bool ready;

	spin_lock(&modem->state_lock);
	ready = modem->state == QT_STATE_READY;
	spin_unlock(&modem->state_lock);
	return ready;
}

/* Any process context. */
void qt_conn_kick(struct qt_modem *modem)
{
	if (!READ_ONCE(modem->data_dead))
		mod_delayed_work(qt_wq, &modem->data_work, 0);
}

/*
 * "+QIURC: "incoming",<id>,<serverID>,"<ip>",<port>": the module gave a new
 * connection connectID <id>. The slot takes a reference on the listener;
 * the engine makes the connection a socket on its accept queue (or closes
 * it). conn_lock held.
 */
static void qt_conn_incoming(struct qt_modem *modem, const struct at_token *tok)
{
	struct qt_slot *slot, *ls;
	int id = tok->id, server = tok->arg;

	lockdep_assert_held(&modem->conn_lock);
	if (id < 0 || id >= QT_MAX_CONNS || server < 0 || server >= QT_MAX_CONNS)
		return;
	slot = &modem->slots[id];
	switch (slot->state) {
	case QT_SLOT_FREE:
		break;
	case QT_SLOT_RESERVED:
	case QT_SLOT_CLOSING:
		/*
		 * The module thinks the connectID free: our reservation
		 * cannot open (an AT+QIOPEN already sent will fail with 563).
		 */
		slot->in_collision = true;
		if (slot->state == QT_SLOT_RESERVED && !slot->sent && !slot->error) {
			slot->error = -EADDRNOTAVAIL;
			slot->forget = true;
		}
		return;
	default:
		pr_warn_ratelimited("quectel: %s: incoming connection on busy connectID %d\n",
				    modem->name, id);
		return;
	}

	ls = &modem->slots[server];
	slot->state = QT_SLOT_INCOMING;
	slot->ctx = ls->ctx;
	slot->open_err = -1;
	slot->peer_port = tok->port;
	strscpy(slot->peer, tok->peer, sizeof(slot->peer));
	if (ls->state == QT_SLOT_OPEN && ls->qs &&
	    ls->qs->service == QT_SVC_TCP_LISTENER) {
		slot->qs = ls->qs;
		sock_hold(&ls->qs->sk);
	}
	/* The connection has the listener's access mode (the notes). */
	qt_chan_set_push_locked(modem, id, slot->qs &&
				READ_ONCE(slot->qs->mode) == QT_MODE_DIRECT_PUSH);
}

/*
 * Connection URCs. Parser callback: chan->lock held; records and kicks.
 */
void qt_conn_urc(struct qt_modem *modem, const struct at_token *tok)
{
	struct qt_slot *slot;
	int ctx, id = tok->id, lost_ctx = 0;

	if (tok->kind != AT_TOK_URC)
		return;

	if (tok->urc == AT_URC_INCOMING_FULL) {
		/* The module refused a client itself: nothing is ours to free. */
		spin_lock(&modem->state_lock);
		modem->stats.incoming_full++;
		spin_unlock(&modem->state_lock);
		return;
	}

	spin_lock(&modem->conn_lock);
	switch (tok->urc) {
	case AT_URC_RECV:
	case AT_URC_QIRDI:		/* legacy: data waits on index id */
	case AT_URC_CLOSED:
	case AT_URC_QIOPEN:
		if (id < 0 || id >= QT_MAX_CONNS)
			break;
		slot = &modem->slots[id];
		if (slot->state == QT_SLOT_FREE)
			break;
		if (tok->urc == AT_URC_RECV || tok->urc == AT_URC_QIRDI)
			slot->rx_urc = true;
		else if (tok->urc == AT_URC_CLOSED)
			slot->closed_urc = true;
		else if (slot->state == QT_SLOT_OPENING ||
			 (slot->state == QT_SLOT_RESERVED && slot->sent))
			slot->open_err = tok->code;
		break;
	case AT_URC_INCOMING:
		qt_conn_incoming(modem, tok);
		break;
	case AT_URC_PDPDEACT:
		/* Legacy "+PDP DEACT": the foreground context, our 1. */
		ctx = tok->id < 0 && qt_legacy(modem) ? 1 : tok->id;
		if (ctx < 1 || ctx > QT_MAX_CTX)
			break;
		lost_ctx = ctx;
		modem->ctx_active &= ~BIT(ctx);
		modem->ctx_deact |= BIT(ctx);
		for (id = 0; id < QT_MAX_CONNS; id++) {
			slot = &modem->slots[id];
			if (slot->state != QT_SLOT_FREE && slot->ctx == ctx)
				slot->error = -ENETDOWN;
		}
		break;
	default:
		break;
	}
	spin_unlock(&modem->conn_lock);
	if (lost_ctx)
		qt_genl_event(modem, QT_EV_CTX_LOST, NULL, lost_ctx, 0);
	qt_conn_kick(modem);
}

/*
 * The module lost every connection (it rebooted): each socket gets -errno @err and
 * no AT+QICLOSE is sent for them. Any context that may take a spinlock.
 */
void qt_conn_reset_all(struct qt_modem *modem, int err)
{
	int id;

	spin_lock(&modem->conn_lock);
	modem->ctx_active = 0;
	modem->ctx_deact = 0;
	for (id = 0; id < QT_MAX_CONNS; id++) {
		struct qt_slot *slot = &modem->slots[id];

		if (slot->state == QT_SLOT_FREE)
			continue;
		slot->error = err;
		slot->forget = true;
	}
	spin_unlock(&modem->conn_lock);
	qt_conn_kick(modem);
}

/* Wake everyone waiting on the socket, whatever they wait for. */
void qt_sock_wake(struct sock *sk)
{
	sk->sk_state_change(sk);
	sk->sk_data_ready(sk);
	sk->sk_write_space(sk);
}

/*
 * The connection is over with -errno @err (0: orderly). Socket lock held.
 * Buffered received data stays readable; the error is reported once.
 */
void qt_sock_set_closed(struct qt_sock *qs, int err)
{
	struct sock *sk = &qs->sk;

	if (err) {
		WRITE_ONCE(sk->sk_err, -err);
		/*
		 * The error before the state: a lockless poll that sees the
		 * closed state sees the error too (pairs with the smp_rmb()
		 * in qt_stream_poll(), where an error implies the rest).
		 */
		smp_wmb();
	}
	WRITE_ONCE(sk->sk_state, TCP_CLOSE);
	sk->sk_shutdown |= SEND_SHUTDOWN;
	if (!qs->rx_queued || err)
		sk->sk_shutdown |= RCV_SHUTDOWN;
	qs->id = -1;
	qs->rx_pending = false;
	qt_sock_wake(sk);
}

/* Free a slot; returns the socket reference it held (to put unlocked). */
static struct qt_sock *qt_slot_free(struct qt_modem *modem, int id)
{
	struct qt_slot *slot = &modem->slots[id];
	struct qt_sock *qs;

	lockdep_assert_held(&modem->conn_lock);
	qs = slot->qs;
	__skb_queue_purge(&modem->push_q[id]);
	modem->push_bytes[id] = 0;
	modem->push_dropped[id] = 0;
	memset(slot, 0, sizeof(*slot));
	slot->state = QT_SLOT_FREE;
	slot->open_err = -1;
	return qs;
}

/*
 * Our use of a connectID is over. Worker. A connectID the module handed to
 * an incoming connection meanwhile is closed rather than freed.
 */
static void qt_slot_release(struct qt_modem *modem, int id)
{
	struct qt_sock *qs;
	bool collision;

	spin_lock(&modem->conn_lock);
	collision = modem->slots[id].in_collision;
	qs = qt_slot_free(modem, id);
	if (collision)
		modem->slots[id].state = QT_SLOT_CLOSING;
	spin_unlock(&modem->conn_lock);
	if (qs)
		sock_put(&qs->sk);
}

/* Move a slot to CLOSING and let its socket go. Worker, conn_lock not held. */
static void qt_slot_to_closing(struct qt_modem *modem, int id)
{
	struct qt_slot *slot = &modem->slots[id];
	struct qt_sock *qs;

	spin_lock(&modem->conn_lock);
	qs = slot->qs;
	slot->qs = NULL;
	slot->state = QT_SLOT_CLOSING;
	spin_unlock(&modem->conn_lock);
	if (qs)
		sock_put(&qs->sk);
}

/* The module's error code of the last TCP/IP command, as a -errno. */
int qt_conn_last_error(struct qt_modem *modem)
{
	struct at_field f[4];
	struct qt_cmd *cmd;
	const char *args;
	int code, err = -EIO;

	if (qt_legacy(modem))
		return -EIO;	/* no AT+QIGETERROR: ERROR is all it says */
	cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QIGETERROR");
	if (!cmd)
		return -ENOMEM;
	if (!qt_chan_exec(modem, cmd) && cmd->final == QT_FINAL_OK) {
		args = at_line_args(cmd->resp, "+QIGETERROR:");
		if (args && at_fields_split(args, strcspn(args, "\n"), f, 4) >= 1 &&
		    !at_field_int(&f[0], 0, 100000, &code))
			err = qt_errno_of_module_error(code) ?: -EIO;
	}
	qt_cmd_put(cmd);
	return err;
}

/* AT+QISTATE=1,<id>: the local port the modem picked. */
static void qt_conn_fetch_local_port(struct qt_modem *modem, struct qt_sock *qs, int id)
{
	struct at_field f[AT_FIELDS_MAX];
	struct qt_cmd *cmd;
	const char *args;
	int n, lport;

	cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QISTATE=1,%d", id);
	if (!cmd)
		return;
	if (!qt_chan_exec(modem, cmd) && cmd->final == QT_FINAL_OK) {
		args = at_line_args(cmd->resp, "+QISTATE:");
		if (args) {
			n = at_fields_split(args, strcspn(args, "\n"), f, ARRAY_SIZE(f));
			if (n >= 5 && !at_field_int(&f[4], 0, 65535, &lport)) {
				lock_sock(&qs->sk);
				qs->local_port = lport;
				release_sock(&qs->sk);
			}
		}
	}
	qt_cmd_put(cmd);
}

static const char *const qt_service_names[] = {
	[QT_SVC_TCP]		= "TCP",
	[QT_SVC_UDP]		= "UDP",
	[QT_SVC_TCP_LISTENER]	= "TCP LISTENER",
	[QT_SVC_UDP_SERVICE]	= "UDP SERVICE",
};

/* AT+QICLOSE for connectID @id (legacy: as CONNECT FAIL requires). Worker. */
static void qt_conn_close(struct qt_modem *modem, int id, bool connect_failed)
{
	if (qt_legacy(modem))
		qt_legacy_close(modem, id, connect_failed);
	else
		qt_chan_simple(modem, 0, "AT+QICLOSE=%d", id);
}

static bool qt_service_is_server(enum qt_service svc)
{
	return svc == QT_SVC_TCP_LISTENER || svc == QT_SVC_UDP_SERVICE;
}

/* Send AT+QIOPEN for a reserved slot. Worker. */
static void qt_conn_open(struct qt_modem *modem, struct qt_sock *qs, int id,
			 int ctx)
{
	struct qt_slot *slot = &modem->slots[id];
	enum qt_service svc;
	struct qt_cmd *cmd;
	char host[QT_HOST_MAX];
	int err, port, lport, mode;

	lock_sock(&qs->sk);
	svc = qs->service;
	strscpy(host, qs->host, sizeof(host));
	port = qs->port;
	lport = qs->bound ? qs->local_port : 0;
	mode = qs->mode;
	release_sock(&qs->sk);

	err = qt_ctx_ensure(modem, ctx);
	if (err)
		goto failed;

	if (qt_legacy(modem)) {
		spin_lock(&modem->conn_lock);
		slot->sent = true;
		spin_unlock(&modem->conn_lock);
		err = qt_legacy_open(modem, id, svc == QT_SVC_UDP, host, port);
		if (err)
			goto failed;
		goto opening;
	}

	/* Pushed data may follow +QIOPEN at once: the parser knows first. */
	qt_chan_set_push(modem, id, mode == QT_MODE_DIRECT_PUSH);
	/* A server takes "127.0.0.1" and no remote port (the notes). */
	if (qt_service_is_server(svc))
		cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QIOPEN=%d,%d,\"%s\",\"127.0.0.1\",0,%d,%d",
				   ctx, id, qt_service_names[svc], lport, mode);
	else
		cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QIOPEN=%d,%d,\"%s\",\"%s\",%d,%d,%d",
				   ctx, id, qt_service_names[svc], host, port, lport, mode);
	if (!cmd) {
		err = -ENOMEM;
		goto failed;
	}
	spin_lock(&modem->conn_lock);
	slot->sent = true;
	spin_unlock(&modem->conn_lock);

	/* Transparent: "CONNECT" (no URC), and the line is the connection's. */
	cmd->enter_raw = mode == QT_MODE_TRANSPARENT;
	cmd->raw_id = id;
	err = qt_chan_exec(modem, cmd);
	if (!err && cmd->final != (cmd->enter_raw ? QT_FINAL_CONNECT : QT_FINAL_OK))
		err = cmd->final == QT_FINAL_ERROR ? qt_conn_last_error(modem) : -EIO;
	qt_cmd_put(cmd);
	if (err)
		goto failed;

opening:
	spin_lock(&modem->conn_lock);
	if (slot->state == QT_SLOT_RESERVED) {
		slot->state = QT_SLOT_OPENING;
		slot->deadline = jiffies +
			msecs_to_jiffies(READ_ONCE(modem->cmd_timeout_ms[QT_TMO_QIOPEN]));
		if (mode == QT_MODE_TRANSPARENT)
			slot->open_err = 0;
	}
	spin_unlock(&modem->conn_lock);
	return;

failed:
	/* The service applies it (and counts the failure) on its next pass. */
	spin_lock(&modem->conn_lock);
	if (slot->state == QT_SLOT_RESERVED) {
		slot->error = err;
		/* A refused AT+QIOPEN leaves nothing to close. */
		slot->forget = !slot->sent || err != -ETIMEDOUT;
	}
	spin_unlock(&modem->conn_lock);
}

static void qt_sink_payload(struct qt_cmd *cmd, const u8 *data, size_t len)
{
	struct sk_buff *skb = cmd->priv;

	if (len > skb_tailroom(skb))
		len = skb_tailroom(skb);
	skb_put_data(skb, data, len);
}

static bool qt_service_is_dgram(enum qt_service svc)
{
	return svc == QT_SVC_UDP || svc == QT_SVC_UDP_SERVICE;
}

/* The sender @ip:@port of a UDP SERVICE datagram into its cb. */
static bool qt_dgram_set_peer(struct sk_buff *skb, const char *ip, int port)
{
	struct qt_dgram_cb *cb = qt_dgram_cb(skb);

	memset(cb, 0, sizeof(*cb));
	cb->port = port;
	if (in4_pton(ip, -1, cb->addr, -1, NULL))
		cb->family = AF_INET;
	else if (in6_pton(ip, -1, cb->addr, -1, NULL))
		cb->family = AF_INET6;
	return cb->family;
}

/* "<ip>",<port> of a UDP SERVICE read into the datagram's cb. */
static bool qt_dgram_peer_parse(struct sk_buff *skb, const struct at_field *ip,
				const struct at_field *port)
{
	char buf[48];
	int p;

	return at_field_str(ip, buf, sizeof(buf)) >= 0 &&
	       !at_field_int(port, 0, 65535, &p) && qt_dgram_set_peer(skb, buf, p);
}

/*
 * A buffer for a direct-push payload of tok->len bytes (with the sender
 * of a UDP SERVICE datagram). Parser callback: chan->lock, a mutex, held
 * in process context, so it may sleep. NULL: the payload is dropped.
 */
struct sk_buff *qt_conn_push_alloc(const struct at_token *tok)
{
	struct sk_buff *skb = alloc_skb(max(tok->len, 1), GFP_KERNEL);

	if (skb && tok->src == AT_PAY_PUSH_UDP)
		qt_dgram_set_peer(skb, tok->peer, tok->port);
	return skb;
}

/*
 * A pushed payload of @len bytes for connectID @id is complete: queue it
 * for the engine, which moves it into the socket, or drop and count it
 * when the socket's receive buffer has no room (the module cannot be told
 * to wait). Takes @skb (NULL: it could not be kept). Parser callback.
 */
void qt_conn_push_end(struct qt_modem *modem, int id, unsigned int len,
		      struct sk_buff *skb)
{
	struct qt_slot *slot;
	struct qt_sock *qs;
	unsigned int room;

	if (id < 0 || id >= QT_MAX_CONNS) {
		kfree_skb(skb);
		return;
	}
	spin_lock(&modem->conn_lock);
	slot = &modem->slots[id];
	qs = slot->qs;
	if (!qs || slot->state == QT_SLOT_FREE || slot->state == QT_SLOT_CLOSING) {
		kfree_skb(skb);		/* nobody to read it */
		skb = NULL;
	} else {
		room = READ_ONCE(qs->sk.sk_rcvbuf);
		if (!skb || skb->len != len ||
		    modem->push_bytes[id] + READ_ONCE(qs->rx_queued) + len > room) {
			modem->push_dropped[id] += len;
			kfree_skb(skb);
		} else {
			__skb_queue_tail(&modem->push_q[id], skb);
			modem->push_bytes[id] += len;
		}
	}
	spin_unlock(&modem->conn_lock);
	qt_conn_kick(modem);
}

/*
 * Move what the module pushed into the socket (@queue, taken from slot
 * @id) and add what had to be dropped to its counter. Each skb leaves
 * push_bytes as it enters rx_queued, under conn_lock, so the room that
 * qt_conn_push_end() and qt_raw_rx_room() see is exact. Worker, socket
 * lock held.
 */
static void qt_conn_deliver_pushed(struct qt_modem *modem, int id, struct qt_sock *qs,
				   struct sk_buff_head *queue, u64 dropped)
{
	struct sock *sk = &qs->sk;
	struct sk_buff *skb;
	bool discard;

	qs->rx_dropped += dropped;
	if (skb_queue_empty(queue))
		return;
	while ((skb = __skb_dequeue(queue))) {
		/* SHUT_RD or closed: discarded, as a read would be. */
		discard = (sk->sk_shutdown & RCV_SHUTDOWN) || qs->close_wanted;
		spin_lock(&modem->conn_lock);
		if (!discard)
			WRITE_ONCE(qs->rx_queued, qs->rx_queued + skb->len);
		modem->push_bytes[id] -= min(skb->len, modem->push_bytes[id]);
		spin_unlock(&modem->conn_lock);
		if (discard)
			kfree_skb(skb);
		else
			__skb_queue_tail(&sk->sk_receive_queue, skb);
	}
	sk->sk_data_ready(sk);
}

/*
 * Parse "+QIRD: <n>[,"<ip>",<port>]" of a read into @skb. Returns n, or -1
 * if the response does not describe what was received.
 */
static int qt_read_result(struct qt_cmd *cmd, struct sk_buff *skb, bool service)
{
	const char *args = at_line_args(cmd->resp, "+QIRD:");
	struct at_field f[4];
	int nf, n;

	if (!args)
		return -1;
	nf = at_fields_split(args, strcspn(args, "\n"), f, ARRAY_SIZE(f));
	if (nf < 1 || at_field_int(&f[0], 0, QT_READ_MAX, &n) || n != skb->len)
		return -1;
	if (service && n && (nf != 3 || !qt_dgram_peer_parse(skb, &f[1], &f[2])))
		return -1;
	return n;
}

/*
 * May a turn queue several commands? Only while no other connection had a
 * turn in this pass of the engine or the last one: a burst holds the line
 * for up to four chunks (half a second at 115200), and with several busy
 * connections one chunk each per pass keeps them fair; the line idles
 * between turns only as long as the worker takes to wake. Worker.
 */
static bool qt_conn_may_burst(const struct qt_modem *modem)
{
	return max(modem->data_turns_last, modem->data_turns) <= 1;
}

/* Did AT+QIRD fill its whole length? For qt_cmd_set_after(); chan->lock held. */
static bool qt_read_went_full(const struct qt_cmd *prev)
{
	const struct sk_buff *skb = prev->priv;

	return !prev->status && prev->final == QT_FINAL_OK && skb->len == QT_READ_MAX;
}

/*
 * Submit one read: up to 1500 bytes of a stream, or one whole datagram,
 * into a new skb (cmd->priv), going only if @after (if any) filled its
 * length. Worker. Returns the command, or an ERR_PTR.
 */
static struct qt_cmd *qt_read_submit(struct qt_modem *modem, int id,
				     enum qt_service svc, struct qt_cmd *after)
{
	struct sk_buff *skb;
	struct qt_cmd *cmd;
	int err;

	skb = alloc_skb(QT_READ_MAX, GFP_KERNEL);
	if (!skb)
		return ERR_PTR(-ENOMEM);
	if (qt_legacy(modem))
		cmd = qt_legacy_read_cmd(id);
	else if (qt_service_is_dgram(svc))
		cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QIRD=%d", id);
	else
		cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QIRD=%d,%d", id, QT_READ_MAX);
	if (!cmd) {
		kfree_skb(skb);
		return ERR_PTR(-ENOMEM);
	}
	cmd->priv = skb;
	cmd->on_payload = qt_sink_payload;
	if (after)
		qt_cmd_set_after(cmd, after, qt_read_went_full);
	err = qt_chan_submit(modem, cmd);
	if (err) {
		qt_cmd_put(cmd);
		kfree_skb(skb);
		return ERR_PTR(err);
	}
	return cmd;
}

/*
 * Deliver what the read @cmd (done) got to the socket; its skb is
 * consumed. Worker. Returns 0, or -errno of the command, -EIO if the
 * module refused (the connection is gone on its side).
 */
static int qt_read_apply(struct qt_modem *modem, struct qt_sock *qs,
			 enum qt_service svc, struct qt_cmd *cmd)
{
	struct sk_buff *skb = cmd->priv;
	struct sock *sk = &qs->sk;
	int n = -1;

	if (cmd->status) {
		kfree_skb(skb);
		return cmd->status;
	}
	if (cmd->final == QT_FINAL_OK && qt_legacy(modem))
		n = qt_legacy_read_len(cmd, skb->len);
	else if (cmd->final == QT_FINAL_OK)
		n = qt_read_result(cmd, skb, svc == QT_SVC_UDP_SERVICE);

	lock_sock(sk);
	if (n < 0) {
		release_sock(sk);
		kfree_skb(skb);
		return -EIO;
	}
	/*
	 * A stream read that got less than it asked for emptied the module's
	 * buffer: the module announces the next data with a URC of its own
	 * (the notes), so no read to find it empty is needed. That read
	 * would hold the line for a round trip just when the program may
	 * answer. A datagram read says nothing about the next datagram.
	 */
	if (n < QT_READ_MAX && !qt_service_is_dgram(svc))
		qs->rx_pending = false;
	if (n == 0) {
		qs->rx_pending = false;
		kfree_skb(skb);
	} else if (sk->sk_shutdown & RCV_SHUTDOWN) {
		kfree_skb(skb);		/* SHUT_RD: discard */
	} else {
		skb_queue_tail(&sk->sk_receive_queue, skb);
		qs->rx_queued += n;
		sk->sk_data_ready(sk);
	}
	release_sock(sk);
	return 0;
}

/*
 * One read turn. A modern stream whose reads come back full keeps the
 * next AT+QIRD queued behind the one on the wire (it goes only if that
 * one filled its 1500 bytes, so an emptied buffer costs no extra read),
 * up to QT_READ_BURST reads, as far as the receive buffer has room and
 * while no other connection competes (qt_conn_may_burst()). Worker.
 */
static int qt_conn_read(struct qt_modem *modem, struct qt_sock *qs, int id)
{
	enum qt_service svc = READ_ONCE(qs->service);
	unsigned int burst = QT_READ_BURST, room;
	struct qt_cmd *cmd, *next;
	bool full;
	int err;

	if (qt_legacy(modem) || qt_service_is_dgram(svc) || !qt_conn_may_burst(modem))
		burst = 1;
	/* The caller saw room for one read; how many more fit? */
	room = READ_ONCE(qs->sk.sk_rcvbuf);
	room = room > READ_ONCE(qs->rx_queued) ? room - READ_ONCE(qs->rx_queued) : 0;
	burst = clamp(room / QT_READ_MAX, 1U, burst);

	cmd = qt_read_submit(modem, id, svc, NULL);
	while (!IS_ERR(cmd)) {
		next = NULL;
		if (--burst)
			next = qt_read_submit(modem, id, svc, cmd);
		qt_chan_wait(cmd);
		full = qt_read_went_full(cmd);
		err = qt_read_apply(modem, qs, svc, cmd);
		qt_cmd_put(cmd);
		if (IS_ERR_OR_NULL(next))
			return err;
		if (!full || err) {
			/*
			 * Cancelled, unsent: the one before it was not full.
			 * (Or that one's answer made no sense: the connection
			 * is treated as closing, and these bytes go with it.)
			 */
			qt_chan_wait(next);
			kfree_skb(next->priv);
			qt_cmd_put(next);
			return err;
		}
		cmd = next;
	}
	return PTR_ERR(cmd);
}

/*
 * Take the next chunk of the send queue into @buf: up to @max bytes of a
 * stream after its first @skip (already handed to a queued command), or
 * the head datagram (@skip 0). Socket lock held. Returns its length and,
 * for a UDP service, writes the destination's ",\"<ip>\",<port>" to @dest.
 */
unsigned int qt_tx_peek(struct qt_sock *qs, unsigned int skip, u8 *buf,
			unsigned int max, char *dest, size_t dest_len)
{
	struct sock *sk = &qs->sk;
	struct sk_buff *skb;
	unsigned int n, off = 0;

	dest[0] = '\0';
	if (qt_service_is_dgram(qs->service)) {
		struct qt_dgram_cb *cb;

		skb = skb_peek(&sk->sk_write_queue);
		if (!skb)
			return 0;
		skb_copy_bits(skb, 0, buf, skb->len);
		cb = qt_dgram_cb(skb);
		if (qs->service == QT_SVC_UDP_SERVICE && cb->family == AF_INET)
			snprintf(dest, dest_len, ",\"%pI4\",%u", cb->addr, cb->port);
		else if (qs->service == QT_SVC_UDP_SERVICE)
			snprintf(dest, dest_len, ",\"%pI6c\",%u", cb->addr, cb->port);
		return skb->len;
	}

	if (skip >= qs->tx_queued)
		return 0;
	n = min(qs->tx_queued - skip, max);
	skb_queue_walk(&sk->sk_write_queue, skb) {
		unsigned int chunk;

		if (skip >= skb->len) {
			skip -= skb->len;
			continue;
		}
		chunk = min(skb->len - skip, n - off);
		memcpy(buf + off, skb->data + skip, chunk);
		skip = 0;
		off += chunk;
		if (off == n)
			break;
	}
	return n;
}

/* Sent: drop @n bytes (a whole datagram) from the queue. Socket lock held. */
void qt_tx_consume(struct qt_sock *qs, unsigned int n)
{
	struct sock *sk = &qs->sk;
	struct sk_buff *skb;

	n = min(n, qs->tx_queued);
	qs->tx_queued -= n;
	while (n) {
		skb = skb_peek(&sk->sk_write_queue);
		if (skb->len > n) {
			skb_pull(skb, n);
			break;
		}
		n -= skb->len;
		__skb_unlink(skb, &sk->sk_write_queue);
		kfree_skb(skb);
	}
	qs->sendfail_ms = 0;
	sk->sk_write_space(sk);
}

/* Did AT+QISEND take its bytes? For qt_cmd_set_after(); chan->lock held. */
static bool qt_send_went_ok(const struct qt_cmd *prev)
{
	return !prev->status && prev->final == QT_FINAL_SEND_OK;
}

/*
 * Submit AT+QISEND for the queued bytes after the first @skip, at most
 * @room of them, going only if @after (if any) succeeds. Worker. Returns
 * the command (the caller waits and puts it) with its length in @len, or
 * NULL with @len 0 when there is nothing to send, or an ERR_PTR.
 */
static struct qt_cmd *qt_send_submit(struct qt_modem *modem, struct qt_sock *qs,
				     int id, unsigned int skip, unsigned int room,
				     struct qt_cmd *after, unsigned int *len)
{
	struct qt_cmd *cmd;
	char dest[64];
	unsigned int n;
	u8 *buf;
	int err;

	*len = 0;
	buf = kmalloc(QT_SEND_MAX, GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	lock_sock(&qs->sk);
	n = qt_tx_peek(qs, skip, buf, room, dest, sizeof(dest));
	release_sock(&qs->sk);
	if (!n) {
		kfree(buf);
		return NULL;
	}
	cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QISEND=%d,%u%s", id, n, dest);
	if (!cmd) {
		kfree(buf);
		return ERR_PTR(-ENOMEM);
	}
	cmd->payload = buf;
	cmd->payload_len = n;
	if (after)
		qt_cmd_set_after(cmd, after, qt_send_went_ok);
	err = qt_chan_submit(modem, cmd);
	if (err) {
		qt_cmd_put(cmd);
		return ERR_PTR(err);
	}
	*len = n;
	return cmd;
}

/* Apply the outcome of AT+QISEND of @n bytes (done). Worker. */
static int qt_send_result(struct qt_modem *modem, struct qt_sock *qs, int id,
			  struct qt_cmd *cmd, unsigned int n)
{
	struct sock *sk = &qs->sk;
	u32 acked, unacked;

	if (cmd->status)
		return cmd->status;
	if (cmd->final == QT_FINAL_SEND_OK) {
		lock_sock(sk);
		qt_tx_consume(qs, n);
		qt_legacy_sent(qs, n);
		release_sock(sk);
		return 0;
	}
	if (cmd->final != QT_FINAL_SEND_FAIL)
		return qt_conn_last_error(modem);
	/* The module's buffer is full: retry later, backing off. */
	if (qt_conn_query_acks(modem, id, &acked, &unacked))
		unacked = 0;
	lock_sock(sk);
	qs->fail_unacked = unacked;
	qs->sendfail_ms = clamp(qs->sendfail_ms * 2, QT_SENDFAIL_MIN_MS,
				QT_SENDFAIL_MAX_MS);
	qs->next_send = jiffies + msecs_to_jiffies(qs->sendfail_ms);
	release_sock(sk);
	return 0;
}

/*
 * One send turn: up to QT_SEND_BURST chunks of a modern stream, the next
 * AT+QISEND always queued in the channel behind the one on the wire, so
 * that SEND OK is followed by it at once rather than after this worker
 * has woken up (the line would idle meanwhile). It goes only if the one
 * before succeeded, so a failure loses no order. One chunk for datagrams
 * (each its own command anyway), for the legacy set (whose unacknowledged
 * bytes are counted per command), after a SEND FAIL, and while other
 * connections compete (qt_conn_may_burst()). Worker.
 */
static int qt_conn_send(struct qt_modem *modem, struct qt_sock *qs, int id)
{
	unsigned int n, next_n, room = QT_SEND_MAX, burst = QT_SEND_BURST;
	struct qt_cmd *cmd, *next;
	u32 acked, unacked;
	bool sent;
	int err;

	/* Legacy: the unacknowledged bytes stay under the note's 3000. */
	if (qt_legacy(modem)) {
		err = qt_legacy_send_room(modem, qs, id, &room);
		if (err || !room)
			return err;
	}

	/*
	 * After SEND FAIL the module's buffer was full: send again only once
	 * the peer has acknowledged some of it (AT+QISEND=<id>,0), else back
	 * off further without adding to the module's load.
	 */
	if (qs->sendfail_ms && !qt_conn_query_acks(modem, id, &acked, &unacked) &&
	    unacked && unacked >= qs->fail_unacked) {
		lock_sock(&qs->sk);
		qs->sendfail_ms = min(qs->sendfail_ms * 2, QT_SENDFAIL_MAX_MS);
		qs->next_send = jiffies + msecs_to_jiffies(qs->sendfail_ms);
		release_sock(&qs->sk);
		return 0;
	}
	if (qt_legacy(modem) || qt_service_is_dgram(READ_ONCE(qs->service)) ||
	    qs->sendfail_ms || !qt_conn_may_burst(modem))
		burst = 1;

	cmd = qt_send_submit(modem, qs, id, 0, room, NULL, &n);
	while (!IS_ERR_OR_NULL(cmd)) {
		next = NULL;
		if (--burst)
			next = qt_send_submit(modem, qs, id, n, room, cmd, &next_n);
		qt_chan_wait(cmd);
		sent = qt_send_went_ok(cmd);
		err = qt_send_result(modem, qs, id, cmd, n);
		qt_cmd_put(cmd);
		if (IS_ERR_OR_NULL(next))
			return err;
		if (!sent) {
			/* Cancelled, unsent: the one before it failed. */
			qt_chan_wait(next);
			qt_cmd_put(next);
			return err;
		}
		cmd = next;
		n = next_n;
	}
	return PTR_ERR_OR_ZERO(cmd);
}

/*
 * AT+QISEND=<id>,0: how much the peer has acknowledged. Process context;
 * sleeps on the modem. Returns 0 and fills @acked/@unacked, or -errno.
 */
int qt_conn_query_acks(struct qt_modem *modem, int id, u32 *acked, u32 *unacked)
{
	struct at_field f[4];
	struct qt_cmd *cmd;
	const char *args;
	int a, u, err;

	if (qt_legacy(modem))
		return qt_legacy_query_acks(modem, id, acked, unacked);
	cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QISEND=%d,0", id);
	if (!cmd)
		return -ENOMEM;
	cmd->resp_prefix = "+QISEND:";
	err = qt_chan_exec(modem, cmd);
	if (!err && cmd->final != QT_FINAL_OK)
		err = -EIO;
	if (!err) {
		args = at_line_args(cmd->resp, "+QISEND:");
		if (!args || at_fields_split(args, strcspn(args, "\n"), f, 4) != 3 ||
		    at_field_int(&f[1], 0, INT_MAX, &a) ||
		    at_field_int(&f[2], 0, INT_MAX, &u))
			err = -EPROTO;
	}
	qt_cmd_put(cmd);
	if (!err) {
		*acked = a;
		*unacked = u;
	}
	return err;
}

static void qt_conn_ack_check(struct qt_modem *modem, struct qt_sock *qs, int id)
{
	u32 acked, unacked;

	if (qt_conn_query_acks(modem, id, &acked, &unacked))
		return;

	lock_sock(&qs->sk);
	if (unacked > 0 && acked == qs->last_acked)
		qs->ack_stalls++;
	else
		qs->ack_stalls = 0;
	qs->last_acked = acked;
	qs->next_ack_check = jiffies + msecs_to_jiffies(QT_ACK_CHECK_MS);
	release_sock(&qs->sk);
}

/*
 * The result of an access mode switch for a socket: in force if @err is 0,
 * and told to the waiting setsockopt(). Worker.
 */
void qt_conn_set_mode(struct qt_sock *qs, int id, int mode, int err)
{
	struct sock *sk = &qs->sk;

	lock_sock(sk);
	if (!err) {
		qs->mode = mode;
		/* Back in buffer mode: the module may hold data already. */
		if (mode == QT_MODE_BUFFER)
			qs->rx_pending = true;
	}
	qs->mode_err = err;
	qs->mode_wanted = qs->mode;
	sk->sk_state_change(sk);
	release_sock(sk);
}

/*
 * AT+QISWTMD: switch a live connection to the access mode its socket
 * wants ("CONNECT" and the line for transparent mode). Worker.
 */
static void qt_conn_switch_mode(struct qt_modem *modem, struct qt_sock *qs, int id)
{
	struct qt_cmd *cmd;
	int mode, prev, err;

	lock_sock(&qs->sk);
	mode = qs->mode_wanted;
	prev = qs->mode;
	qs->switch_reads = 0;
	release_sock(&qs->sk);

	cmd = qt_cmd_alloc(GFP_KERNEL, "AT+QISWTMD=%d,%d", id, mode);
	if (!cmd) {
		qt_conn_set_mode(qs, id, prev, -ENOMEM);
		return;
	}
	cmd->enter_raw = mode == QT_MODE_TRANSPARENT;
	cmd->raw_id = id;
	/* Data the module pushes right after OK must parse as such. */
	if (mode == QT_MODE_DIRECT_PUSH)
		qt_chan_set_push(modem, id, true);
	err = qt_chan_exec(modem, cmd);
	if (!err && cmd->final != (mode == QT_MODE_TRANSPARENT ? QT_FINAL_CONNECT : QT_FINAL_OK))
		err = cmd->final == QT_FINAL_ERROR ? qt_conn_last_error(modem) : -EIO;
	qt_cmd_put(cmd);
	if (mode != QT_MODE_TRANSPARENT)
		qt_chan_set_push(modem, id, (err ? prev : mode) == QT_MODE_DIRECT_PUSH);
	qt_conn_set_mode(qs, id, mode, err);
}



/*
 * An incoming connection on listener @lqs (the slot's reference, which the
 * caller drops): make it a socket on the accept queue, or close it when
 * the queue is full, the listener is gone, or the slot failed. Worker.
 */
static void qt_conn_accept(struct qt_modem *modem, int id, struct qt_sock *lqs,
			   const struct qt_slot *snap)
{
	struct qt_slot *slot = &modem->slots[id];
	struct sock *lsk = &lqs->sk;
	struct qt_sock *child = NULL;
	bool overflow = false;

	lock_sock(lsk);
	if (!snap->error && lsk->sk_state == TCP_LISTEN) {
		if (sk_acceptq_is_full(lsk))
			overflow = true;
		else
			child = qt_child_new(lqs, id, snap->peer, snap->peer_port);
	}

	spin_lock(&modem->conn_lock);
	if (WARN_ON_ONCE(slot->qs != lqs)) {
		/* Only the engine moves an incoming slot on: cannot happen. */
		if (child) {
			child->id = -1;
			qt_sock_set_closed(child, -ECONNABORTED);
		}
	} else {
		sock_put(lsk);			/* the slot's; ours remains */
		slot->qs = NULL;
		if (child) {
			sock_hold(&child->sk);
			slot->qs = child;
			slot->state = QT_SLOT_OPEN;
			/* What came before the socket existed: next pass. */
			slot->rx_urc |= snap->rx_urc;
			slot->closed_urc |= snap->closed_urc;
		} else if (snap->error && snap->forget) {
			qt_slot_free(modem, id);
		} else {
			slot->state = QT_SLOT_CLOSING;
		}
	}
	spin_unlock(&modem->conn_lock);
	release_sock(lsk);

	if (overflow) {
		spin_lock(&modem->state_lock);
		modem->stats.accept_overflow++;
		spin_unlock(&modem->state_lock);
	}
}

/* Is a send command due for @qs? Socket lock held. */
static bool qt_send_due(const struct qt_sock *qs)
{
	return qs->tx_queued && !qs->peer_closed && time_after_eq(jiffies, qs->next_send);
}

/*
 * The body of qt_conn_service() for a slot: @snap is what it recorded,
 * @pushed and @pushed_dropped what the module pushed. Takes the reference
 * on @qs. Worker.
 */
static bool qt_conn_service_slot(struct qt_modem *modem, int id, struct qt_sock *qs,
				 const struct qt_slot *snapp, struct sk_buff_head *pushed,
				 u64 pushed_dropped, unsigned long *next)
{
	struct qt_slot *slot = &modem->slots[id];
	const struct qt_slot snap = *snapp;
	struct sock *sk;
	enum qt_op op = QT_OP_NONE;
	int err;


	if (!qs) {
		if (qt_raw_busy(modem, id))
			return false;	/* AT+QICLOSE once the line is free */
		/* Orphans: nobody waits; make the connectID free again. */
		if (snap.error && snap.forget) {
			qt_slot_release(modem, id);
			return true;
		}
		switch (snap.state) {
		case QT_SLOT_RESERVED:
			if (!snap.sent) {
				qt_slot_release(modem, id);
				return true;
			}
			if (snap.open_err >= 0 || snap.error)
				qt_slot_to_closing(modem, id);
			return false;
		case QT_SLOT_OPENING:
			/*
			 * Abandoned while the module connects: close it now
			 * rather than after the 150 s open limit, so the
			 * connectID is free for the next connect().
			 */
			qt_slot_to_closing(modem, id);
			return true;
		default:
			break;
		}
		qt_conn_close(modem, id, snap.connect_failed);
		qt_slot_release(modem, id);
		return true;
	}

	if (snap.state == QT_SLOT_INCOMING) {
		qt_conn_accept(modem, id, qs, &snap);
		sock_put(&qs->sk);
		return true;
	}

	sk = &qs->sk;
	lock_sock(sk);
	qt_conn_deliver_pushed(modem, id, qs, pushed, pushed_dropped);
	if (snap.error) {
		/* Reset, context lost, failed open: the socket learns it now. */
		if (sk->sk_state == TCP_SYN_SENT)
			qt_ctx_open_result(modem, snap.ctx, false);
		qt_sock_set_closed(qs, snap.error);
		release_sock(sk);
		if (snap.forget)
			qt_slot_release(modem, id);
		else
			qt_slot_to_closing(modem, id);
		sock_put(sk);
		return true;
	}

	switch (snap.state) {
	case QT_SLOT_RESERVED:
		if (!snap.sent)
			op = QT_OP_OPEN;
		break;
	case QT_SLOT_OPENING:
		if (snap.open_err == 0) {
			/*
			 * A client's local port first, so getsockname() has it
			 * at once (a server's is the one it asked for).
			 */
			if (!qt_service_is_server(qs->service) &&
			    qs->mode != QT_MODE_TRANSPARENT && !qt_legacy(modem)) {
				release_sock(sk);
				qt_conn_fetch_local_port(modem, qs, id);
				lock_sock(sk);
			}
			spin_lock(&modem->conn_lock);
			if (slot->qs == qs)
				slot->state = QT_SLOT_OPEN;
			spin_unlock(&modem->conn_lock);
			if (sk->sk_state == TCP_SYN_SENT) {
				sk->sk_state = qs->service == QT_SVC_TCP_LISTENER ?
					       TCP_LISTEN : TCP_ESTABLISHED;
				qs->next_ack_check = jiffies +
					msecs_to_jiffies(QT_ACK_CHECK_MS);
				qt_sock_wake(sk);
			}
			qt_ctx_open_result(modem, snap.ctx, true);
			release_sock(sk);
			sock_put(sk);
			return true;
		}
		if (snap.open_err > 0 || time_after_eq(jiffies, snap.deadline)) {
			err = snap.open_err > 0 ?
				qt_errno_of_module_error(snap.open_err) : -ETIMEDOUT;
			qt_ctx_open_result(modem, snap.ctx, false);
			qt_sock_set_closed(qs, err);
			release_sock(sk);
			qt_slot_to_closing(modem, id);
			sock_put(sk);
			return true;
		}
		qt_next_deadline(next, snap.deadline);
		break;
	case QT_SLOT_OPEN:
		if (qs->mode == QT_MODE_TRANSPARENT && READ_ONCE(modem->raw.id) == id) {
			op = qt_raw_next_op(modem, qs, next);
			break;
		}
		if (snap.rx_urc)
			qs->rx_pending = true;
		if (snap.closed_urc) {
			qs->peer_closed = true;
			qs->rx_pending = true;	/* read what is left */
		}
		if (qs->peer_closed && qs->tx_queued) {
			/*
			 * Closed with our bytes still queued: they can never
			 * be delivered, and the modern set reports a reset
			 * and a FIN alike. Like TCP writing to a closed peer,
			 * the connection is reset and the loss reported.
			 */
			skb_queue_purge(&sk->sk_write_queue);
			qs->tx_queued = 0;
			qt_sock_set_closed(qs, -ECONNRESET);
			release_sock(sk);
			qt_slot_to_closing(modem, id);
			sock_put(sk);
			return true;
		}
		/*
		 * Out of buffer mode once the module's buffer is read empty,
		 * or after a few reads if the peer keeps it full: the module
		 * reports what it still holds the new way (pushed, or raw
		 * after CONNECT), so waiting longer only delays the switch.
		 */
		if (qs->mode_wanted != qs->mode && !qs->close_wanted &&
		    (qs->mode_wanted == QT_MODE_BUFFER || !qs->rx_pending ||
		     qs->switch_reads >= QT_SWITCH_DRAIN_READS)) {
			op = QT_OP_MODE;
		/*
		 * A released socket only flushes and closes: no more reads.
		 * Reads and sends take turns: a peer that sends faster than
		 * the line carries must not starve our sends (nor the reverse).
		 */
		} else if (qs->rx_pending && !qs->close_wanted &&
			   qs->rx_queued + QT_READ_MAX <= READ_ONCE(sk->sk_rcvbuf) &&
			   !(qs->read_last && qt_send_due(qs))) {
			op = QT_OP_READ;
		} else if (qt_send_due(qs)) {
			op = QT_OP_SEND;
		} else if (qs->tx_queued && !qs->peer_closed) {
			qt_next_deadline(next, qs->next_send);
		} else if (qs->peer_closed && (!qs->rx_pending || qs->close_wanted)) {
			/* All read: EOF after the buffered data, then close. */
			if (sk->sk_state == TCP_ESTABLISHED)
				sk->sk_state = TCP_CLOSE_WAIT;
			sk->sk_shutdown |= RCV_SHUTDOWN;
			qt_sock_wake(sk);
			op = QT_OP_CLOSE;
		} else if (qs->close_wanted && !qs->tx_queued) {
			op = QT_OP_CLOSE;
		} else if (sock_flag(sk, SOCK_KEEPOPEN) && qs->service == QT_SVC_TCP) {
			if (qs->ack_stalls >= QT_ACK_STALLS_MAX) {
				qt_sock_set_closed(qs, -ETIMEDOUT);
				release_sock(sk);
				qt_slot_to_closing(modem, id);
				sock_put(sk);
				return true;
			}
			if (time_after_eq(jiffies, qs->next_ack_check))
				op = QT_OP_ACK;
			else
				qt_next_deadline(next, qs->next_ack_check);
		}
		break;
	case QT_SLOT_CLOSING:
		op = QT_OP_CLOSE;
		break;
	default:
		break;
	}
	/* Another connection owns the line: no command until it leaves. */
	if (qt_raw_busy(modem, id))
		op = QT_OP_NONE;
	if (op == QT_OP_READ || op == QT_OP_SEND) {
		qs->read_last = op == QT_OP_READ;
		modem->data_turns++;
	}
	if (op == QT_OP_READ && qs->mode_wanted != qs->mode && qs->switch_reads < U8_MAX)
		qs->switch_reads++;
	release_sock(sk);

	err = 0;
	switch (op) {
	case QT_OP_NONE:
		break;
	case QT_OP_RAW_TX:
		qt_raw_tx(modem, qs);
		break;
	case QT_OP_RAW_ESCAPE:
		qt_raw_escape(modem, qs);
		break;
	case QT_OP_RAW_AFTER:
		qt_raw_after(modem, qs, id);
		break;
	case QT_OP_RAW_FLUSH:
		qt_raw_flush(modem);
		break;
	case QT_OP_OPEN:
		qt_conn_open(modem, qs, id, snap.ctx);
		break;
	case QT_OP_READ:
		err = qt_conn_read(modem, qs, id);
		break;
	case QT_OP_SEND:
		err = qt_conn_send(modem, qs, id);
		break;
	case QT_OP_ACK:
		qt_conn_ack_check(modem, qs, id);
		break;
	case QT_OP_MODE:
		qt_conn_switch_mode(modem, qs, id);
		break;
	case QT_OP_CLOSE:
		qt_conn_close(modem, id, snap.connect_failed);
		lock_sock(sk);
		if (sk->sk_state != TCP_CLOSE_WAIT)
			qt_sock_set_closed(qs, 0);
		qs->id = -1;
		release_sock(sk);
		qt_slot_release(modem, id);
		break;
	}
	if (err == -ECONNRESET || err == -ETIMEDOUT) {
		/* The module says reset (567), or stopped answering. */
		spin_lock(&modem->conn_lock);
		if (slot->qs == qs && !slot->error)
			slot->error = err;
		spin_unlock(&modem->conn_lock);
	} else if (err && err != -ENOMEM && err != -ENODEV) {
		/*
		 * Any other refusal (572 not allowed, ERROR on a read) means
		 * the module is closing the connection, typically racing the
		 * peer's FIN and its "closed" URC: treat it as that close.
		 */
		lock_sock(sk);
		qs->peer_closed = true;
		if (op == QT_OP_READ)
			qs->rx_pending = false;
		release_sock(sk);
	}
	sock_put(sk);
	return op != QT_OP_NONE;
}

/*
 * Serve one slot: apply recorded events, then at most one command.
 * Worker. Returns true if it did something.
 */
static bool qt_conn_service(struct qt_modem *modem, int id, unsigned long *next)
{
	struct qt_slot *slot = &modem->slots[id];
	struct sk_buff_head pushed;
	u64 pushed_dropped = 0;
	unsigned int undelivered = 0;
	struct sk_buff *skb;
	struct qt_slot snap;
	struct qt_sock *qs;
	bool done;

	spin_lock(&modem->conn_lock);
	snap = *slot;
	if (snap.state == QT_SLOT_FREE) {
		spin_unlock(&modem->conn_lock);
		return false;
	}
	qs = slot->qs;
	if (qs)
		sock_hold(&qs->sk);
	slot->rx_urc = false;
	slot->closed_urc = false;
	slot->error = 0;
	if (snap.open_err >= 0)
		slot->open_err = -1;
	/* Pushed data waits for a socket: an incoming one has none yet. */
	__skb_queue_head_init(&pushed);
	if (snap.state != QT_SLOT_INCOMING) {
		skb_queue_splice_init(&modem->push_q[id], &pushed);
		pushed_dropped = modem->push_dropped[id];
		modem->push_dropped[id] = 0;
	}
	spin_unlock(&modem->conn_lock);
	/* push_bytes still counts them: delivering takes them off. */
	done = qt_conn_service_slot(modem, id, qs, &snap, &pushed, pushed_dropped, next);
	/* Not delivered (no socket to take them): off push_bytes too. */
	skb_queue_walk(&pushed, skb)
		undelivered += skb->len;
	__skb_queue_purge(&pushed);
	if (undelivered) {
		spin_lock(&modem->conn_lock);
		modem->push_bytes[id] -= min(undelivered, modem->push_bytes[id]);
		spin_unlock(&modem->conn_lock);
	}
	return done;
}

/* The engine. Module workqueue, process context; sleeps on commands. */
static void qt_conn_work(struct work_struct *work)
{
	struct qt_modem *modem = container_of(to_delayed_work(work),
					      struct qt_modem, data_work);
	unsigned long next;
	bool progress;
	u32 deact;
	int id, ctx;

	if (READ_ONCE(modem->data_dead))
		return;
	/* A reader made room, or the line's owner is leaving. */
	qt_chan_rx_restart(modem);

	spin_lock(&modem->conn_lock);
	/* (After transparent mode, if a connection owns the line.) */
	deact = modem->raw.id < 0 ? modem->ctx_deact : 0;
	modem->ctx_deact &= ~deact;
	spin_unlock(&modem->conn_lock);
	/* The network dropped these contexts: the notes say deactivate. */
	for (ctx = 1; ctx <= QT_MAX_CTX; ctx++)
		if (deact & BIT(ctx))
			qt_ctx_down(modem, ctx, false);

	do {
		next = jiffies + 3600 * HZ;
		progress = false;
		modem->data_turns_last = modem->data_turns;
		modem->data_turns = 0;
		for (id = 0; id < QT_MAX_CONNS; id++) {
			if (READ_ONCE(modem->data_dead))
				return;
			progress |= qt_conn_service(modem, id, &next);
		}
	} while (progress);

	queue_delayed_work(qt_wq, &modem->data_work,
			   time_after(next, jiffies) ? next - jiffies : 0);
}

void qt_conn_init(struct qt_modem *modem)
{
	int id;

	spin_lock_init(&modem->conn_lock);
	INIT_LIST_HEAD(&modem->bound);
	qt_raw_init(modem);
	INIT_DELAYED_WORK(&modem->data_work, qt_conn_work);
	for (id = 0; id < QT_MAX_CONNS; id++) {
		modem->slots[id].state = QT_SLOT_FREE;
		modem->slots[id].open_err = -1;
		__skb_queue_head_init(&modem->push_q[id]);
	}
}

/*
 * Detach: stop the engine, fail every socket with ENODEV and free every
 * slot. Process context; the channel is already dead, so no command runs.
 */
void qt_conn_stop(struct qt_modem *modem)
{
	struct qt_sock *qs;
	int id;

	WRITE_ONCE(modem->data_dead, true);
	cancel_delayed_work_sync(&modem->data_work);

	for (id = 0; id < QT_MAX_CONNS; id++) {
		spin_lock(&modem->conn_lock);
		qs = qt_slot_free(modem, id);
		spin_unlock(&modem->conn_lock);
		if (!qs)
			continue;
		lock_sock(&qs->sk);
		qt_sock_set_closed(qs, -ENODEV);
		release_sock(&qs->sk);
		sock_put(&qs->sk);
	}
}
