/* SPDX-License-Identifier: GPL-2.0 */
/* The control socket: run-time fault injection (see faults.c). */
#ifndef QTSIM_CONTROL_H
#define QTSIM_CONTROL_H

int control_open(const char *path);
void control_close(void);

#endif
