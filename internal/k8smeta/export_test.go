package k8smeta

import "time"

// SetNow sets the resolver's clock (for the tests of package k8smeta_test,
// which import k8smetatest, which imports k8smeta).
func SetNow(r *Resolver, now func() time.Time) { r.now = now }
