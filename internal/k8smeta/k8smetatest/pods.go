package k8smetatest

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// RealisticPod is the i-th of a node's pods as an informer sees them in a
// busy cluster: ten labels, six annotations with a last-applied
// configuration of 2 KB, managedFields, volumes, env, a running status.
// Its ReplicaSet (svc-NNN-5d8f7c9b4, owned by Deployment svc-NNN) has
// podsPerRS pods, all in one of 20 namespaces (team-NN).
func RealisticPod(i int, node string, podsPerRS int) *corev1.Pod {
	rs := fmt.Sprintf("svc-%03d-5d8f7c9b4", i/podsPerRS)
	app := fmt.Sprintf("svc-%03d", i/podsPerRS)
	ctl := true
	lastApplied := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q,"labels":{"app":%q}},"spec":{"containers":[{"name":"app","image":"registry.example.com/team/%s:1.%d.0","resources":{"limits":{"cpu":"500m","memory":"256Mi"}}}]},"padding":%q}`,
		app, app, app, i%7, strings.Repeat("x", 1500))
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%05d", rs, i), Namespace: fmt.Sprintf("team-%02d", i/podsPerRS%20), UID: types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)),
			ResourceVersion: "1",
			Labels: map[string]string{
				"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/instance": app + "-prod", "app.kubernetes.io/version": "1.4.2",
				"app.kubernetes.io/component": "api", "app.kubernetes.io/part-of": "shop", "app.kubernetes.io/managed-by": "Helm",
				"pod-template-hash": "5d8f7c9b4", "team": fmt.Sprintf("team-%02d", i/podsPerRS%20), "tier": "backend",
			},
			Annotations: map[string]string{
				"kubectl.kubernetes.io/last-applied-configuration": lastApplied,
				"prometheus.io/scrape":                             "true", "prometheus.io/port": "9090", "prometheus.io/path": "/metrics",
				"checksum/config": strings.Repeat("ab", 32), "kubectl.kubernetes.io/restartedAt": "2026-11-20T10:00:00Z",
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: types.UID("rs-" + rs), Controller: &ctl}},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
					FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{".":{},"f:app":{},"f:pod-template-hash":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"x\"}":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{},"f:resources":{}}}}}`)}},
				{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", Subresource: "status",
					FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{"f:conditions":{},"f:containerStatuses":{},"f:hostIP":{},"f:phase":{},"f:podIP":{},"f:startTime":{}}}`)}},
			},
		},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{
				Name: "app", Image: fmt.Sprintf("registry.example.com/team/%s:1.%d.0", app, i%7),
				Env:   []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "PORT", Value: "8080"}},
				Ports: []corev1.ContainerPort{{ContainerPort: 8080, Name: "http"}},
			}},
			Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: app}}}}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), HostIP: "10.0.0.10",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.ContainersReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", Ready: true, RestartCount: 0, Image: fmt.Sprintf("registry.example.com/team/%s:1.%d.0", app, i%7),
				ImageID:     fmt.Sprintf("registry.example.com/team/%s@sha256:%064d", app, i%7),
				ContainerID: fmt.Sprintf("containerd://%064d", i),
			}},
		},
	}
}
