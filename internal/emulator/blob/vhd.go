package blob

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// VHD footer layout, from Microsoft's "Virtual Hard Disk Image Format Specification" (version 1.0).
// Every field is big-endian.
const (
	// VHDFooterSize is the size of the footer that ends every VHD file.
	VHDFooterSize = 512

	vhdCookie         = "conectix"
	vhdFeatures       = 0x00000002 // "reserved", always set
	vhdFormatVersion  = 0x00010000
	vhdFixedOffset    = 0xFFFFFFFFFFFFFFFF // data offset of a fixed disk: no dynamic header
	vhdDiskTypeFixed  = 2
	vhdCreatorApp     = "strt"
	vhdCreatorVersion = 0x00010000
	vhdCreatorHostOS  = "Wi2k" // what Azure and most tools write

	// vhdAlignment is the virtual-size alignment Azure requires of an image's VHD.
	vhdAlignment = 1 << 20

	offCookie      = 0
	offFeatures    = 8
	offVersion     = 12
	offDataOffset  = 16
	offTimestamp   = 24
	offCreatorApp  = 28
	offCreatorVer  = 32
	offCreatorOS   = 36
	offOrigSize    = 40
	offCurrentSize = 48
	offGeometry    = 56
	offDiskType    = 60
	offChecksum    = 64
	offUniqueID    = 68
	offSavedState  = 84
)

// vhdEpoch is the origin of the footer's timestamp: January 1, 2000 12:00:00 AM UTC.
var vhdEpoch = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// Geometry is a disk's cylinder/head/sector geometry as stored in a VHD footer.
type Geometry struct {
	Cylinders       uint16
	Heads           uint8
	SectorsPerTrack uint8
}

// CHSGeometry computes the geometry of a disk of size bytes with the algorithm of the VHD
// specification (appendix "CHS Calculation"); sizes beyond 65535×16×255 sectors are capped.
func CHSGeometry(size int64) Geometry {
	totalSectors := size / 512
	if totalSectors > 65535*16*255 {
		totalSectors = 65535 * 16 * 255
	}
	var sectorsPerTrack, heads, cylinderTimesHeads int64
	if totalSectors >= 65535*16*63 {
		sectorsPerTrack = 255
		heads = 16
		cylinderTimesHeads = totalSectors / sectorsPerTrack
	} else {
		sectorsPerTrack = 17
		cylinderTimesHeads = totalSectors / sectorsPerTrack
		heads = (cylinderTimesHeads + 1023) / 1024
		if heads < 4 {
			heads = 4
		}
		if cylinderTimesHeads >= heads*1024 || heads > 16 {
			sectorsPerTrack = 31
			heads = 16
			cylinderTimesHeads = totalSectors / sectorsPerTrack
		}
		if cylinderTimesHeads >= heads*1024 {
			sectorsPerTrack = 63
			heads = 16
			cylinderTimesHeads = totalSectors / sectorsPerTrack
		}
	}
	return Geometry{
		Cylinders:       uint16(cylinderTimesHeads / heads),
		Heads:           uint8(heads),
		SectorsPerTrack: uint8(sectorsPerTrack),
	}
}

// vhdChecksum is the one's complement of the sum of every footer byte except the checksum field.
func vhdChecksum(footer []byte) uint32 {
	var sum uint32
	for i, b := range footer[:VHDFooterSize] {
		if i >= offChecksum && i < offChecksum+4 {
			continue
		}
		sum += uint32(b)
	}
	return ^sum
}

// FixedVHDFooter returns the 512-byte footer of a fixed VHD whose data part is size bytes,
// created at created, with the given unique id. size must be a positive multiple of 512.
func FixedVHDFooter(size int64, created time.Time, id [16]byte) ([]byte, error) {
	if size <= 0 || size%512 != 0 {
		return nil, fmt.Errorf("vhd: disk size %d is not a positive multiple of 512", size)
	}
	f := make([]byte, VHDFooterSize)
	copy(f[offCookie:], vhdCookie)
	binary.BigEndian.PutUint32(f[offFeatures:], vhdFeatures)
	binary.BigEndian.PutUint32(f[offVersion:], vhdFormatVersion)
	binary.BigEndian.PutUint64(f[offDataOffset:], vhdFixedOffset)
	ts := created.Sub(vhdEpoch) / time.Second
	if ts < 0 {
		ts = 0
	}
	binary.BigEndian.PutUint32(f[offTimestamp:], uint32(ts))
	copy(f[offCreatorApp:], vhdCreatorApp)
	binary.BigEndian.PutUint32(f[offCreatorVer:], vhdCreatorVersion)
	copy(f[offCreatorOS:], vhdCreatorHostOS)
	binary.BigEndian.PutUint64(f[offOrigSize:], uint64(size))
	binary.BigEndian.PutUint64(f[offCurrentSize:], uint64(size))
	g := CHSGeometry(size)
	binary.BigEndian.PutUint16(f[offGeometry:], g.Cylinders)
	f[offGeometry+2] = g.Heads
	f[offGeometry+3] = g.SectorsPerTrack
	binary.BigEndian.PutUint32(f[offDiskType:], vhdDiskTypeFixed)
	copy(f[offUniqueID:], id[:])
	f[offSavedState] = 0
	binary.BigEndian.PutUint32(f[offChecksum:], vhdChecksum(f))
	return f, nil
}

// ErrNotFixedVHD is wrapped by every error ValidateFixedVHD returns.
var ErrNotFixedVHD = errors.New("not a valid fixed VHD")

// ValidateFixedVHD checks that data is a whole fixed VHD as Azure accepts it for an image: a
// length that is a multiple of 512, ending in a footer with the "conectix" cookie, a correct
// checksum, disk type fixed, the fixed data offset, a current size equal to the data part, a
// data part aligned to 1 MiB. The geometry is not checked: tools differ there and Azure ignores it.
func ValidateFixedVHD(data []byte) error {
	n := int64(len(data))
	if n < VHDFooterSize+512 || n%512 != 0 {
		return fmt.Errorf("%w: length %d is not a multiple of 512 holding data and a footer", ErrNotFixedVHD, n)
	}
	f := data[n-VHDFooterSize:]
	if !bytes.Equal(f[offCookie:offCookie+8], []byte(vhdCookie)) {
		return fmt.Errorf("%w: footer cookie is %q, want %q", ErrNotFixedVHD, f[offCookie:offCookie+8], vhdCookie)
	}
	if got, want := binary.BigEndian.Uint32(f[offChecksum:]), vhdChecksum(f); got != want {
		return fmt.Errorf("%w: footer checksum is %#08x, want %#08x", ErrNotFixedVHD, got, want)
	}
	if v := binary.BigEndian.Uint32(f[offVersion:]); v != vhdFormatVersion {
		return fmt.Errorf("%w: file format version %#08x, want %#08x", ErrNotFixedVHD, v, vhdFormatVersion)
	}
	if t := binary.BigEndian.Uint32(f[offDiskType:]); t != vhdDiskTypeFixed {
		return fmt.Errorf("%w: disk type %d, want %d (fixed)", ErrNotFixedVHD, t, vhdDiskTypeFixed)
	}
	if o := binary.BigEndian.Uint64(f[offDataOffset:]); o != vhdFixedOffset {
		return fmt.Errorf("%w: data offset %#x, want %#x for a fixed disk", ErrNotFixedVHD, o, uint64(vhdFixedOffset))
	}
	dataSize := n - VHDFooterSize
	if cur := binary.BigEndian.Uint64(f[offCurrentSize:]); cur != uint64(dataSize) {
		return fmt.Errorf("%w: current size %d, but the data part is %d bytes", ErrNotFixedVHD, cur, dataSize)
	}
	if dataSize%vhdAlignment != 0 {
		return fmt.Errorf("%w: virtual size %d is not a multiple of 1 MiB", ErrNotFixedVHD, dataSize)
	}
	return nil
}

// Base image parameters: a small disk whose first sector says what it is and ends with the
// boot signature, so a copy can be recognised byte for byte.
const (
	baseImageDataSize = 2 << 20
	baseImageBanner   = "STRATA EMULATOR BASE IMAGE ubuntu-22.04 (fixed VHD, 2 MiB of zeros)\n"
)

// baseImageCreated is fixed so that the image, its ETag and its id are the same at every start.
var baseImageCreated = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// baseImageID is the footer's unique id of the base image (a fixed version-4 UUID).
var baseImageID = [16]byte{0x5e, 0x1a, 0x7a, 0x00, 0xba, 0x5e, 0x40, 0x0d, 0x8a, 0x6e, 0x22, 0x04, 0x00, 0x00, 0x00, 0x01}

// BaseImage returns the bytes of the public base image SourceAccount/vhds/BaseImageBlob: 2 MiB
// of data whose first sector carries a banner and the 0x55AA signature, then a fixed VHD footer.
func BaseImage() []byte {
	img := make([]byte, baseImageDataSize+VHDFooterSize)
	copy(img, baseImageBanner)
	img[510], img[511] = 0x55, 0xAA
	footer, err := FixedVHDFooter(baseImageDataSize, baseImageCreated, baseImageID)
	if err != nil {
		panic(err) // constant, valid input
	}
	copy(img[baseImageDataSize:], footer)
	return img
}
