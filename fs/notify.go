package fs

import (
	gofs "github.com/hanwen/go-fuse/v2/fs"
)

// notifyEntry tells the kernel, from a new goroutine, to forget what it
// knows of the entry name in dir (a positive or a negative entry): the
// next access looks it up again. A notification must not be sent from
// the request that changed the directory, since the kernel holds the
// directory's lock until that request is answered; sent from a goroutine it
// waits for the lock, so it lands after the kernel applied the change.
// Errors (the kernel did not know the entry, the mount is gone) are of no
// interest.
func notifyEntry(dir *gofs.Inode, name string) {
	go dir.NotifyEntry(name)
}
