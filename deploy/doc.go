// Package deploy holds the shop's container image (Dockerfile) and its
// Kubernetes manifests (a kustomize base and the overlays dev and prod),
// and the tests that check them without a cluster: every manifest and
// every object the overlays build decodes strictly into the Kubernetes
// API types; the probes and ports match the routes and settings of
// package service; every environment variable a Deployment sets is one
// its service reads, and every one it requires is set; Services select
// their pods; every ConfigMap and Secret key referenced exists; and the
// grace period covers the service's drain.
//
// It is a module of its own, so that the Kubernetes API types and
// kustomize stay out of tailor's dependencies. See README.md for how to
// build the images and apply an overlay.
package deploy
