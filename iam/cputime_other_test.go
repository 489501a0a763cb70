//go:build !unix

package iam

import "time"

func processCPU() time.Duration { return 0 }
