package cli

import "regexp"

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }

func matches(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
