package kubernetesevents

import (
	"context"
	"fmt"
	"time"

	"github.com/octostore/agent/internal/k8smeta"
)

// runElected campaigns for the Lease and collects while holding it. Each
// new term starts with a full list, which covers the gap since the last
// leader stopped: the occurrences it had delivered come again with the
// same ids.
func (s *source) runElected(ctx context.Context) error {
	le := s.cfg.LeaderElection
	ns := le.Namespace
	if ns == "" {
		ns = k8smeta.InClusterNamespace()
	}
	if ns == "" {
		return fmt.Errorf("leader_election: set namespace (the agent is not in a pod, so its namespace is unknown)")
	}
	id := s.identity()
	log := s.set.Logger.With("lease", ns+"/"+le.LeaseName, "identity", id)
	for ctx.Err() == nil {
		elector := &k8smeta.Elector{
			Client:        s.cs,
			Namespace:     ns,
			Name:          le.LeaseName,
			Identity:      id,
			LeaseDuration: le.duration,
			RenewDeadline: le.renew,
			RetryPeriod:   le.retry,
			Logger:        log,
			OnNewLeader: func(current string) {
				if current != id {
					log.Info("another replica leads", "leader", current)
				}
			},
		}
		// Run returns when the term ends (the lease is lost or ctx ends)
		// and the Lease is released, without waiting for the collector.
		elector.Run(ctx, func(lctx context.Context) {
			// One collector at a time: a term that ended is waited
			// for, and a term that ended before its collector started
			// emits nothing.
			s.collectMu.Lock()
			defer s.collectMu.Unlock()
			if lctx.Err() != nil {
				return
			}
			s.c.leader.Set(1)
			s.c.leaderAcquired.Inc()
			log.Info("became the leader; listing to cover the gap, then watching")
			_ = s.collect(lctx, true)
			s.c.leader.Set(0)
			if ctx.Err() == nil {
				log.Warn("lost the lease; stopped collecting")
			}
		})
		if ctx.Err() == nil {
			t := time.NewTimer(le.retry)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
	// Wait for the collector of the last term: nothing is emitted after
	// Run returns.
	s.collectMu.Lock()
	s.collectMu.Unlock() //nolint:staticcheck // a barrier
	return nil
}
