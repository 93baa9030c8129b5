// Package check tests the deployment recipes in deploy/: the Kubernetes
// manifests decode strictly into the API's own types (a misspelt field
// fails), every command in a recipe is one assign accepts, and a shard's
// command finds its index in the environment its engine sets. It is a
// module of its own so that the Kubernetes API types stay out of assign's
// dependencies; make test runs it.
package check
