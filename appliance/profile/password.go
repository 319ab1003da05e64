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
func GeneratePassword() string { return GeneratePasswordN(passwordLen) }

// GeneratePasswordN returns length characters from crypto/rand, each of
// the alphabet's 55 letters equally likely (about 5.8 bits each). Used for
// phone admin passwords and extension-pool SIP passwords alike.
func GeneratePasswordN(length int) string {
	const n = len(passwordAlphabet)
	// Bytes at or above the largest multiple of n are dropped, so that
	// every letter is equally likely.
	const limit = 256 - 256%n
	out := make([]byte, 0, length)
	var buf [64]byte
	for len(out) < length {
		rand.Read(buf[:]) // never fails (crypto/rand, Go 1.24+)
		for _, b := range buf {
			if int(b) < limit && len(out) < length {
				out = append(out, passwordAlphabet[int(b)%n])
			}
		}
	}
	return string(out)
}
