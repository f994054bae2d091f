//go:build unix && !linux

package main

import "syscall"

// sysProcAttr puts an instance in a process group of its own, so a
// Ctrl-C in the terminal reaches the runner only.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
