//go:build !race

package provisionbench

// raceDetector is set in a build with the race detector (see race_on_test.go).
const raceDetector = false
