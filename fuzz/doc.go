// Package fuzz holds the cross-package fuzz targets of webidentity (see the _test.go files).
package fuzz
