/* SPDX-License-Identifier: BSD-2-Clause */
/* fault: a write to an address, tried in a child process. */
#include "fault.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

bool write_faults(volatile char *p)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL); /* cmocka's handler would carry on testing */
		*p = 0x5a;
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}
