package web

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// MinPasswordLen is the shortest password accepted: NIST SP 800-63B rev. 4
// asks for at least 15 characters when a password is the only factor.
const MinPasswordLen = 15

// MaxPasswordBytes is the longest password: bcrypt reads 72 bytes.
const MaxPasswordBytes = 72

//go:embed passwords/common.txt
var commonPasswordsTxt string

// commonPasswords is the bundled blocklist (see passwords/common.txt for
// where it comes from).
var commonPasswords = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsTxt))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			m[line] = true
		}
	}
	return m
})

// keyboardRuns are sequences whose stretches make weak passwords.
var keyboardRuns = []string{
	"01234567890123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm",
	"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "zaq1xsw2cde3vfr4bgt5nhy6mju7", "qazwsxedcrfvtgbyhnujmikolp",
	"azertyuiopqsdfghjklmwxcvbn", "qwertzuiopasdfghjklyxcvbnm",
}

// CheckPassword applies the password rules of NIST SP 800-63B rev. 4: 15
// to 72 bytes' worth of characters, not only whitespace, not the user's
// name, not a common password (also after stripping digits and symbols
// from its ends, and not a repetition of a short or common piece), and not
// a stretch of a keyboard or alphabet run. It returns one line saying what
// to change.
func CheckPassword(userName, password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return fmt.Errorf("web: password is not valid UTF-8")
	case n < MinPasswordLen:
		return fmt.Errorf("web: password must have at least %d characters (it has %d); a few unrelated words make a good one", MinPasswordLen, n)
	case len(password) > MaxPasswordBytes:
		return fmt.Errorf("web: password must be at most %d bytes", MaxPasswordBytes)
	case strings.TrimFunc(password, unicode.IsSpace) == "":
		return fmt.Errorf("web: password must not be only spaces")
	}
	lower := strings.ToLower(password)
	squeezed := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, lower)
	if name := strings.ToLower(normalizeUserName(userName)); name != "" {
		if squeezed == name || (utf8.RuneCountInString(name) >= 4 && strings.Contains(squeezed, name)) ||
			trimEnds(squeezed) == name {
			return fmt.Errorf("web: password must not contain the user name")
		}
	}
	if isCommonPassword(squeezed) {
		return fmt.Errorf("web: password is on the list of common passwords; choose a less guessable one")
	}
	return nil
}

func isCommonPassword(p string) bool {
	common := commonPasswords()
	if common[p] || common[trimEnds(p)] {
		return true
	}
	// A repetition of one piece: aaaa…, abcabc…, passwordpassword.
	for unit := 1; unit <= len(p)/2; unit++ {
		if len(p)%unit != 0 || strings.Repeat(p[:unit], len(p)/unit) != p {
			continue
		}
		if unit <= 4 || common[p[:unit]] || common[trimEnds(p[:unit])] {
			return true
		}
	}
	for _, run := range keyboardRuns {
		if strings.Contains(run, p) || strings.Contains(reverse(run), p) {
			return true
		}
	}
	return false
}

// trimEnds strips digits, punctuation and symbols from both ends:
// "!!password2026" → "password".
func trimEnds(p string) string {
	return strings.TrimFunc(p, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}
