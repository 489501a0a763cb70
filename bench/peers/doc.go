// Package peers benchmarks webidentity against its peers.
package peers
