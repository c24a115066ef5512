package outbox

import (
	"math/rand/v2"
	"time"
)

// backoff returns the delay after the attempt-th consecutive failure:
// MinBackoff, doubling with every attempt, capped at MaxBackoff, plus up to
// a tenth of jitter so that messages failing together do not retry in
// lockstep.
func (o *Outbox) backoff(attempt int) time.Duration {
	d := o.minBackoff
	for i := 1; i < attempt && d < o.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, o.maxBackoff)
	if j := int64(d / 10); j > 0 {
		d += time.Duration(rand.Int64N(j))
	}
	return d
}
