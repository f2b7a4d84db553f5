/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault injection: state set by control-socket commands, consulted by
 * the link (output faults) and the dialect (command faults).
 */
#ifndef QTSIM_FAULTS_H
#define QTSIM_FAULTS_H

#include <stddef.h>

/* Run one control command; writes "ok" or "error <why>" into reply. */
void faults_command(const char *cmd, char *reply, size_t len);

int fault_take_drop_final(void);	/* drop this final result? */
unsigned fault_delay_ms(void);		/* extra processing time */
int fault_silent(void);			/* read and discard everything */
void fault_garble(unsigned char *p, size_t n);
int fault_take_fail_open(int *err);	/* next QIOPEN fails with *err */
int fault_take_send_fail(void);		/* answer SEND FAIL */
int fault_take_already_connect(void);	/* answer ALREADY CONNECT */
int fault_take_cme(int *code);		/* answer +CME ERROR: code */

#endif
