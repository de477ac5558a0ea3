//go:build race

package provisionbench

// raceDetector is set in a build with the race detector, which slows the emulator and the
// controller about fourfold: the tests that provision many clusters provision fewer.
const raceDetector = true
