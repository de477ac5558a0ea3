package arm

import (
	"encoding/binary"
	"hash/fnv"
	"math"
)

// mix is SplitMix64's finaliser: a good 64-bit hash of a 64-bit value.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hashOf deterministically hashes the seed with strings and unsigned numbers.
func hashOf(seed uint64, parts ...any) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			h.Write([]byte(v))
		case uint64:
			binary.LittleEndian.PutUint64(b[:], v)
			h.Write(b[:])
		case int:
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			h.Write(b[:])
		}
		h.Write([]byte{0})
	}
	return mix(seed ^ h.Sum64())
}

// unit maps a hash to [0,1).
func unit(h uint64) float64 { return float64(h>>11) / math.Exp2(53) }
