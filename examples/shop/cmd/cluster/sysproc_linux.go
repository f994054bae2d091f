package main

import "syscall"

// sysProcAttr puts an instance in a process group of its own, so a
// Ctrl-C in the terminal reaches the runner only, and has it sent
// SIGTERM should the runner die without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
