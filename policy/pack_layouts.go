package policy

// Each function lists the layouts of blocks with one number of conditions
// and patterns, one per allocation size class from 256 to 1,536 bytes: the
// byte array takes whatever the class leaves once the typed parts are laid
// out, so that a packed policy wastes no more than the gap to its class.

import "unsafe"

const (
	blockHead = unsafe.Sizeof(Policy{}) + unsafe.Sizeof(fastForm{}) + unsafe.Sizeof(statement{})
	condSize  = unsafe.Sizeof(condition{})
	patSize   = unsafe.Sizeof(pattern{})
)

func layouts1x1() []blockLayout {
	type (
		C = [1]condition
		P = [1]pattern
	)
	const h = int(blockHead + 1*condSize + 1*patSize)
	return []blockLayout{
		layoutOf[C, P, [max(256-h, 0)]byte](),
		layoutOf[C, P, [max(288-h, 0)]byte](),
		layoutOf[C, P, [max(320-h, 0)]byte](),
		layoutOf[C, P, [max(352-h, 0)]byte](),
		layoutOf[C, P, [max(384-h, 0)]byte](),
		layoutOf[C, P, [max(416-h, 0)]byte](),
		layoutOf[C, P, [max(448-h, 0)]byte](),
		layoutOf[C, P, [max(480-h, 0)]byte](),
		layoutOf[C, P, [max(512-h, 0)]byte](),
		layoutOf[C, P, [max(576-h, 0)]byte](),
		layoutOf[C, P, [max(640-h, 0)]byte](),
		layoutOf[C, P, [max(704-h, 0)]byte](),
		layoutOf[C, P, [max(768-h, 0)]byte](),
		layoutOf[C, P, [max(896-h, 0)]byte](),
		layoutOf[C, P, [max(1024-h, 0)]byte](),
		layoutOf[C, P, [max(1152-h, 0)]byte](),
		layoutOf[C, P, [max(1280-h, 0)]byte](),
		layoutOf[C, P, [max(1408-h, 0)]byte](),
		layoutOf[C, P, [max(1536-h, 0)]byte](),
	}
}

func layouts1x2() []blockLayout {
	type (
		C = [1]condition
		P = [2]pattern
	)
	const h = int(blockHead + 1*condSize + 2*patSize)
	return []blockLayout{
		layoutOf[C, P, [max(256-h, 0)]byte](),
		layoutOf[C, P, [max(288-h, 0)]byte](),
		layoutOf[C, P, [max(320-h, 0)]byte](),
		layoutOf[C, P, [max(352-h, 0)]byte](),
		layoutOf[C, P, [max(384-h, 0)]byte](),
		layoutOf[C, P, [max(416-h, 0)]byte](),
		layoutOf[C, P, [max(448-h, 0)]byte](),
		layoutOf[C, P, [max(480-h, 0)]byte](),
		layoutOf[C, P, [max(512-h, 0)]byte](),
		layoutOf[C, P, [max(576-h, 0)]byte](),
		layoutOf[C, P, [max(640-h, 0)]byte](),
		layoutOf[C, P, [max(704-h, 0)]byte](),
		layoutOf[C, P, [max(768-h, 0)]byte](),
		layoutOf[C, P, [max(896-h, 0)]byte](),
		layoutOf[C, P, [max(1024-h, 0)]byte](),
		layoutOf[C, P, [max(1152-h, 0)]byte](),
		layoutOf[C, P, [max(1280-h, 0)]byte](),
		layoutOf[C, P, [max(1408-h, 0)]byte](),
		layoutOf[C, P, [max(1536-h, 0)]byte](),
	}
}

func layouts2x2() []blockLayout {
	type (
		C = [2]condition
		P = [2]pattern
	)
	const h = int(blockHead + 2*condSize + 2*patSize)
	return []blockLayout{
		layoutOf[C, P, [max(256-h, 0)]byte](),
		layoutOf[C, P, [max(288-h, 0)]byte](),
		layoutOf[C, P, [max(320-h, 0)]byte](),
		layoutOf[C, P, [max(352-h, 0)]byte](),
		layoutOf[C, P, [max(384-h, 0)]byte](),
		layoutOf[C, P, [max(416-h, 0)]byte](),
		layoutOf[C, P, [max(448-h, 0)]byte](),
		layoutOf[C, P, [max(480-h, 0)]byte](),
		layoutOf[C, P, [max(512-h, 0)]byte](),
		layoutOf[C, P, [max(576-h, 0)]byte](),
		layoutOf[C, P, [max(640-h, 0)]byte](),
		layoutOf[C, P, [max(704-h, 0)]byte](),
		layoutOf[C, P, [max(768-h, 0)]byte](),
		layoutOf[C, P, [max(896-h, 0)]byte](),
		layoutOf[C, P, [max(1024-h, 0)]byte](),
		layoutOf[C, P, [max(1152-h, 0)]byte](),
		layoutOf[C, P, [max(1280-h, 0)]byte](),
		layoutOf[C, P, [max(1408-h, 0)]byte](),
		layoutOf[C, P, [max(1536-h, 0)]byte](),
	}
}

func layouts2x3() []blockLayout {
	type (
		C = [2]condition
		P = [3]pattern
	)
	const h = int(blockHead + 2*condSize + 3*patSize)
	return []blockLayout{
		layoutOf[C, P, [max(256-h, 0)]byte](),
		layoutOf[C, P, [max(288-h, 0)]byte](),
		layoutOf[C, P, [max(320-h, 0)]byte](),
		layoutOf[C, P, [max(352-h, 0)]byte](),
		layoutOf[C, P, [max(384-h, 0)]byte](),
		layoutOf[C, P, [max(416-h, 0)]byte](),
		layoutOf[C, P, [max(448-h, 0)]byte](),
		layoutOf[C, P, [max(480-h, 0)]byte](),
		layoutOf[C, P, [max(512-h, 0)]byte](),
		layoutOf[C, P, [max(576-h, 0)]byte](),
		layoutOf[C, P, [max(640-h, 0)]byte](),
		layoutOf[C, P, [max(704-h, 0)]byte](),
		layoutOf[C, P, [max(768-h, 0)]byte](),
		layoutOf[C, P, [max(896-h, 0)]byte](),
		layoutOf[C, P, [max(1024-h, 0)]byte](),
		layoutOf[C, P, [max(1152-h, 0)]byte](),
		layoutOf[C, P, [max(1280-h, 0)]byte](),
		layoutOf[C, P, [max(1408-h, 0)]byte](),
		layoutOf[C, P, [max(1536-h, 0)]byte](),
	}
}

func layouts2x4() []blockLayout {
	type (
		C = [2]condition
		P = [4]pattern
	)
	const h = int(blockHead + 2*condSize + 4*patSize)
	return []blockLayout{
		layoutOf[C, P, [max(256-h, 0)]byte](),
		layoutOf[C, P, [max(288-h, 0)]byte](),
		layoutOf[C, P, [max(320-h, 0)]byte](),
		layoutOf[C, P, [max(352-h, 0)]byte](),
		layoutOf[C, P, [max(384-h, 0)]byte](),
		layoutOf[C, P, [max(416-h, 0)]byte](),
		layoutOf[C, P, [max(448-h, 0)]byte](),
		layoutOf[C, P, [max(480-h, 0)]byte](),
		layoutOf[C, P, [max(512-h, 0)]byte](),
		layoutOf[C, P, [max(576-h, 0)]byte](),
		layoutOf[C, P, [max(640-h, 0)]byte](),
		layoutOf[C, P, [max(704-h, 0)]byte](),
		layoutOf[C, P, [max(768-h, 0)]byte](),
		layoutOf[C, P, [max(896-h, 0)]byte](),
		layoutOf[C, P, [max(1024-h, 0)]byte](),
		layoutOf[C, P, [max(1152-h, 0)]byte](),
		layoutOf[C, P, [max(1280-h, 0)]byte](),
		layoutOf[C, P, [max(1408-h, 0)]byte](),
		layoutOf[C, P, [max(1536-h, 0)]byte](),
	}
}

func layouts3x3() []blockLayout {
	type (
		C = [3]condition
		P = [3]pattern
	)
	const h = int(blockHead + 3*condSize + 3*patSize)
	return []blockLayout{
		layoutOf[C, P, [max(256-h, 0)]byte](),
		layoutOf[C, P, [max(288-h, 0)]byte](),
		layoutOf[C, P, [max(320-h, 0)]byte](),
		layoutOf[C, P, [max(352-h, 0)]byte](),
		layoutOf[C, P, [max(384-h, 0)]byte](),
		layoutOf[C, P, [max(416-h, 0)]byte](),
		layoutOf[C, P, [max(448-h, 0)]byte](),
		layoutOf[C, P, [max(480-h, 0)]byte](),
		layoutOf[C, P, [max(512-h, 0)]byte](),
		layoutOf[C, P, [max(576-h, 0)]byte](),
		layoutOf[C, P, [max(640-h, 0)]byte](),
		layoutOf[C, P, [max(704-h, 0)]byte](),
		layoutOf[C, P, [max(768-h, 0)]byte](),
		layoutOf[C, P, [max(896-h, 0)]byte](),
		layoutOf[C, P, [max(1024-h, 0)]byte](),
		layoutOf[C, P, [max(1152-h, 0)]byte](),
		layoutOf[C, P, [max(1280-h, 0)]byte](),
		layoutOf[C, P, [max(1408-h, 0)]byte](),
		layoutOf[C, P, [max(1536-h, 0)]byte](),
	}
}
