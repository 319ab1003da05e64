package profile

import "crypto/rand"

// passwordAlphabet is letters and digits without the look-alikes 0 O o,
// 1 I i l: the password may be read off a screen and typed into a phone.
// Letters and digits only, because the GXP admin password field takes
// a-z, A-Z, 0-9 (FPBX-P comment on P2).
const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"

// passwordLen characters of a 55-letter alphabet are about 115 bits.
const passwordLen = 20

// GeneratePassword returns a new random phone admin password from
// crypto/rand.
func GeneratePassword() string {
	const n = len(passwordAlphabet)
	// Bytes at or above the largest multiple of n are dropped, so that
	// every letter is equally likely.
	const limit = 256 - 256%n
	out := make([]byte, 0, passwordLen)
	var buf [32]byte
	for len(out) < passwordLen {
		rand.Read(buf[:]) // never fails (crypto/rand, Go 1.24+)
		for _, b := range buf {
			if int(b) < limit && len(out) < passwordLen {
				out = append(out, passwordAlphabet[int(b)%n])
			}
		}
	}
	return string(out)
}
