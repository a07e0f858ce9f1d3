package manifest

import "strings"

// languageNames names the most common languages in English, by ISO 639-1
// code, for labels of renditions whose caller gave only a language.
var languageNames = map[string]string{
	"ar": "Arabic", "bn": "Bengali", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German",
	"el": "Greek", "en": "English", "es": "Spanish", "fa": "Persian", "fi": "Finnish", "fr": "French",
	"he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
	"ko": "Korean", "ms": "Malay", "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese",
	"ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sv": "Swedish", "th": "Thai", "tr": "Turkish",
	"uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese",
}

// LanguageName is a human name for a BCP 47 tag: "English" for "en",
// "English (en-US)" for "en-US", the tag itself when unknown.
func LanguageName(tag string) string {
	primary, _, _ := strings.Cut(tag, "-")
	name, ok := languageNames[strings.ToLower(primary)]
	switch {
	case !ok:
		return tag
	case primary != tag:
		return name + " (" + tag + ")"
	}
	return name
}
