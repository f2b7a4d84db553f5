// SPDX-License-Identifier: GPL-2.0
/*
 * qtctl sockets: the AF_QUECTEL sockets of this network namespace, from
 * /proc/net/quectel (docs/CONTROL.md). Text: the same columns as the file,
 * re-aligned; JSON: an array of objects.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "qtctl.h"

#ifndef PROC_SOCKETS
#define PROC_SOCKETS	"/proc/net/quectel"	/* another file for host checks */
#endif
#define TEXT_COLUMNS	"%4s %-5s %3s %-12s %-12s %-21s %-21s %8s %8s %5s %8s %8s\n"

struct sock_row {
	unsigned int slot, id, uid;
	unsigned long long txq, rxq, inode, drops;
	char modem[32], type[32], state[32], local[128], remote[128];
};

static bool parse_row(const char *line, struct sock_row *r)
{
	return sscanf(line, "%u %31s %u %31s %31s %127s %127s %llu %llu %u %llu %llu",
		      &r->slot, r->modem, &r->id, r->type, r->state, r->local, r->remote,
		      &r->txq, &r->rxq, &r->uid, &r->inode, &r->drops) == 12;
}

static void print_row(const struct sock_row *r)
{
	char slot[16], id[16], txq[24], rxq[24], uid[16], inode[24], drops[24];

	if (!out_json()) {
		snprintf(slot, sizeof(slot), "%u", r->slot);
		snprintf(id, sizeof(id), "%u", r->id);
		snprintf(txq, sizeof(txq), "%llu", r->txq);
		snprintf(rxq, sizeof(rxq), "%llu", r->rxq);
		snprintf(uid, sizeof(uid), "%u", r->uid);
		snprintf(inode, sizeof(inode), "%llu", r->inode);
		snprintf(drops, sizeof(drops), "%llu", r->drops);
		printf(TEXT_COLUMNS, slot, r->modem, id, r->type, r->state, r->local,
		       r->remote, txq, rxq, uid, inode, drops);
		return;
	}
	out_record_begin(NULL, NULL);
	out_u64("slot", r->slot);
	out_str("modem", r->modem);
	out_u64("id", r->id);
	out_str("type", r->type);
	out_str("state", r->state);
	out_str("local_address", r->local);
	out_str("remote_address", r->remote);
	out_u64("tx_queue", r->txq);
	out_u64("rx_queue", r->rxq);
	out_u64("uid", r->uid);
	out_u64("inode", r->inode);
	out_u64("drops", r->drops);
	out_record_end();
}

int cmd_sockets(void)
{
	FILE *f = fopen(PROC_SOCKETS, "r");
	char line[512];
	unsigned int n = 0;

	if (!f)
		die_err(errno, NULL, "%s", PROC_SOCKETS);
	if (out_json())
		out_list_begin();
	else
		printf(TEXT_COLUMNS, "sl", "modem", "id", "type", "state", "local_address",
		       "remote_address", "tx_queue", "rx_queue", "uid", "inode", "drops");
	while (fgets(line, sizeof(line), f)) {
		struct sock_row r;

		if (n++ == 0)
			continue;	/* the header */
		if (!parse_row(line, &r)) {
			line[strcspn(line, "\n")] = 0;
			die_err(EBADMSG, line, "%s line %u", PROC_SOCKETS, n);
		}
		print_row(&r);
	}
	if (ferror(f))
		die_err(errno ? errno : EIO, NULL, "%s", PROC_SOCKETS);
	fclose(f);
	if (out_json())
		out_list_end();
	fflush(stdout);
	return 0;
}
