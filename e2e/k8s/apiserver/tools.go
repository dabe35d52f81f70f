//go:build tools

// Package apiserver only pins the commands ../build.sh builds: the
// control plane from k8s.io/kubernetes, and etcd's server at the version
// k8s.io/kubernetes itself requires (its etcd client modules are pinned by
// the same release, so server and client match).
package apiserver

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
