package reviews

import (
	_ "embed"
	"strings"
	"unicode"
)

//go:embed banned_words.txt
var bannedWordsText string

// parseWords reads one word a line, skipping blank lines and lines that
// start with #.
func parseWords(text string) map[string]bool {
	words := map[string]bool{}
	for line := range strings.Lines(text) {
		w := strings.TrimSpace(line)
		if w == "" || strings.HasPrefix(w, "#") {
			continue
		}
		words[strings.ToLower(w)] = true
	}
	return words
}

// hasBannedWord reports whether text contains one of banned (in lower
// case) as a whole word, whatever its case: the words of text are its
// runs of letters and digits, so "Shit!" contains one and "shitake" does
// not.
func hasBannedWord(banned map[string]bool, text string) bool {
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if banned[strings.ToLower(w)] {
			return true
		}
	}
	return false
}
