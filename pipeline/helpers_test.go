package pipeline

import (
	"time"

	"github.com/tickrun/tickrun/pipeline/deliver"
)

// fastDelivery are delivery options small enough for tests.
var fastDelivery = deliver.Options{
	DialTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
	Attempts: 50, Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, RetryMaxTime: 5 * time.Second,
}
