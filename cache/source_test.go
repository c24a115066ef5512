package cache_test

import (
	"mailfs/cache"
	"mailfs/fs"
)

// *cache.Account is what the filesystem mounts for an IMAP account.
var _ fs.Source = (*cache.Account)(nil)
