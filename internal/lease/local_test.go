package lease_test

import (
	"testing"

	"github.com/ospreyvideo/osprey/internal/lease"
	"github.com/ospreyvideo/osprey/internal/lease/leasetest"
)

func TestLocalConformance(t *testing.T) {
	t.Parallel()
	leasetest.Run(t, func(t *testing.T) leasetest.Cluster {
		first := lease.NewLocal()
		used := false
		return leasetest.Cluster{
			Node: func(t *testing.T, id string) lease.Leaser {
				l := first
				if used {
					l = first.Peer()
				}
				used = true
				t.Cleanup(func() { _ = l.Close() })
				return l
			},
		}
	})
}
