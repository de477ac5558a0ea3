package blob

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestCHSGeometry(t *testing.T) {
	for _, tc := range []struct {
		size int64
		want Geometry
	}{
		{2 << 20, Geometry{Cylinders: 60, Heads: 4, SectorsPerTrack: 17}},
		{10 << 20, Geometry{Cylinders: 301, Heads: 4, SectorsPerTrack: 17}},
		{100 << 20, Geometry{Cylinders: 1003, Heads: 12, SectorsPerTrack: 17}},
		{512 << 20, Geometry{Cylinders: 1040, Heads: 16, SectorsPerTrack: 63}},
		{1 << 30, Geometry{Cylinders: 2080, Heads: 16, SectorsPerTrack: 63}},
		{30 << 30, Geometry{Cylinders: 62415, Heads: 16, SectorsPerTrack: 63}},
		{127 << 30, Geometry{Cylinders: 65278, Heads: 16, SectorsPerTrack: 255}},
		{4 << 40, Geometry{Cylinders: 65535, Heads: 16, SectorsPerTrack: 255}}, // capped
	} {
		if got := CHSGeometry(tc.size); got != tc.want {
			t.Errorf("CHSGeometry(%d) = %+v, want %+v", tc.size, got, tc.want)
		}
	}
}

func TestFixedVHDFooter(t *testing.T) {
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f, err := FixedVHDFooter(2<<20, created, [16]byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		got  uint64
		want uint64
	}{
		{"features", uint64(binary.BigEndian.Uint32(f[8:])), 2},
		{"version", uint64(binary.BigEndian.Uint32(f[12:])), 0x00010000},
		{"data offset", binary.BigEndian.Uint64(f[16:]), 0xFFFFFFFFFFFFFFFF},
		{"timestamp", uint64(binary.BigEndian.Uint32(f[24:])), uint64(created.Sub(vhdEpoch) / time.Second)},
		{"original size", binary.BigEndian.Uint64(f[40:]), 2 << 20},
		{"current size", binary.BigEndian.Uint64(f[48:]), 2 << 20},
		{"cylinders", uint64(binary.BigEndian.Uint16(f[56:])), 60},
		{"heads", uint64(f[58]), 4},
		{"sectors", uint64(f[59]), 17},
		{"disk type", uint64(binary.BigEndian.Uint32(f[60:])), 2},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.name, tc.got, tc.want)
		}
	}
	if string(f[:8]) != "conectix" || string(f[28:32]) != "strt" || string(f[36:40]) != "Wi2k" || f[68] != 1 {
		t.Errorf("cookie %q, creator %q on %q, id %x", f[:8], f[28:32], f[36:40], f[68:84])
	}
	// The checksum is the one's complement of the byte sum without the checksum field.
	var sum uint32
	for i, b := range f {
		if i < 64 || i >= 68 {
			sum += uint32(b)
		}
	}
	if got := binary.BigEndian.Uint32(f[64:]); got != ^sum {
		t.Errorf("checksum = %#x, want %#x", got, ^sum)
	}
	if _, err := FixedVHDFooter(1000, created, [16]byte{}); err == nil {
		t.Errorf("footer for 1000 bytes: no error")
	}
}

func TestValidateFixedVHD(t *testing.T) {
	good := BaseImage()
	if err := ValidateFixedVHD(good); err != nil {
		t.Fatalf("base image: %v", err)
	}
	if len(good)%512 != 0 || string(good[len(good)-512:len(good)-504]) != "conectix" || good[510] != 0x55 || good[511] != 0xAA {
		t.Fatalf("base image layout wrong")
	}
	mutate := func(f func(b []byte) []byte) []byte {
		b := append([]byte(nil), good...)
		return f(b)
	}
	footer := func(b []byte) []byte { return b[len(b)-512:] }
	resum := func(b []byte) {
		f := footer(b)
		binary.BigEndian.PutUint32(f[64:], vhdChecksum(f))
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"unaligned length", good[:len(good)-1]},
		{"no footer", make([]byte, 4<<20)},
		{"bad checksum", mutate(func(b []byte) []byte { footer(b)[67]++; return b })},
		{"changed field, stale checksum", mutate(func(b []byte) []byte { footer(b)[59]++; return b })},
		{"dynamic", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(footer(b)[60:], 3)
			resum(b)
			return b
		})},
		{"wrong size", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint64(footer(b)[48:], 4<<20)
			resum(b)
			return b
		})},
		{"data offset", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint64(footer(b)[16:], 512)
			resum(b)
			return b
		})},
		{"not 1 MiB aligned", func() []byte {
			f, err := FixedVHDFooter(512*3, time.Now(), [16]byte{})
			if err != nil {
				t.Fatal(err)
			}
			return append(make([]byte, 512*3), f...)
		}()},
	} {
		if err := ValidateFixedVHD(tc.data); !errors.Is(err, ErrNotFixedVHD) {
			t.Errorf("%s: %v, want ErrNotFixedVHD", tc.name, err)
		}
	}
}
