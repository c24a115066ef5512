package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// mountOptions are the -o options of mount, in the FUSE convention: a
// comma-separated list, as mount(8) passes them from /etc/fstab.
type mountOptions struct {
	// readOnly is "ro": every change fails with EROFS; no outbox/.
	readOnly bool
	// allowOther is "allow_other": other users may use the mount.
	allowOther bool
	// defaultPermissions is "default_permissions": the kernel checks
	// permission bits.
	defaultPermissions bool
	// config is "config=FILE", the same as -config FILE.
	config string
}

// ignoredMountOptions are options mount(8), mount.fuse3 and fstab entries
// pass that mean nothing to mailfs, or that it applies anyway (nosuid,
// nodev).
var ignoredMountOptions = map[string]bool{
	"rw": true, "defaults": true, "nofail": true, "noauto": true, "auto": true,
	"user": true, "users": true, "nouser": true, "_netdev": true,
	"dev": true, "nodev": true, "suid": true, "nosuid": true, "exec": true, "noexec": true,
	"atime": true, "noatime": true, "relatime": true, "nodiratime": true,
	"async": true,
}

// parse adds the options of list ("ro,config=/path") to o. An option
// mailfs does not know is a usage error naming it.
func (o *mountOptions) parse(list string) error {
	for _, opt := range strings.Split(list, ",") {
		name, value, hasValue := strings.Cut(opt, "=")
		switch {
		case opt == "":
		case opt == "ro":
			o.readOnly = true
		case opt == "allow_other":
			o.allowOther = true
		case opt == "default_permissions":
			o.defaultPermissions = true
		case name == "config" && hasValue && value != "":
			o.config = value
		case name == "config":
			return fmt.Errorf("%w: -o config needs a FILE (config=FILE)", errUsage)
		case ignoredMountOptions[opt], strings.HasPrefix(opt, "x-systemd."), strings.HasPrefix(opt, "x-gvfs-"), strings.HasPrefix(opt, "comment="):
		default:
			return fmt.Errorf("%w: unknown mount option %q (known: ro, allow_other, default_permissions, config=FILE)", errUsage, opt)
		}
	}
	return nil
}

// String gives the options back in -o form, for tests and logs.
func (o *mountOptions) String() string {
	var out []string
	if o.readOnly {
		out = append(out, "ro")
	}
	if o.allowOther {
		out = append(out, "allow_other")
	}
	if o.defaultPermissions {
		out = append(out, "default_permissions")
	}
	if o.config != "" {
		out = append(out, "config="+o.config)
	}
	return strings.Join(out, ",")
}

// fuseConf is where fusermount3 reads user_allow_other.
const fuseConf = "/etc/fuse.conf"

// checkAllowOther fails with an explanation when allow_other cannot work:
// fusermount3 refuses it to a user other than root unless fuse.conf
// (its contents conf, nil when missing) says user_allow_other.
func checkAllowOther(euid int, conf []byte) error {
	if euid == 0 {
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(conf))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "user_allow_other" {
			return nil
		}
	}
	return fmt.Errorf("-o allow_other needs 'user_allow_other' in %s when not run as root (add that line as root)", fuseConf)
}

// readFuseConf returns the contents of /etc/fuse.conf, nil when it cannot
// be read.
func readFuseConf() []byte {
	data, _ := os.ReadFile(fuseConf)
	return data
}
