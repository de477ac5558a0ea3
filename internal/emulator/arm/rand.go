package arm

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
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

// NewRand returns a deterministic random source for a hook: seed is Tx.Seed(), stream tells
// apart the users of one seed (a provider's own constant).
func NewRand(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// RandomGUID draws a version 4 GUID from r.
func RandomGUID(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// RandomHex32 draws 32 lowercase hexadecimal digits from r.
func RandomHex32(r *rand.Rand) string { return fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64()) }
