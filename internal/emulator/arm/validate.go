package arm

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// reservedExact, reservedSub and reservedPrefix are Azure's reserved words for names that
// become public DNS labels (troubleshooting/error-reserved-resource-name).
var (
	reservedExact = map[string]bool{}
	reservedSub   = []string{"MICROSOFT", "WINDOWS"}
	reservedPre   = []string{"LOGIN"}
)

func init() {
	for _, w := range strings.Fields(`ACCESS APP_CODE APP_THEMES APP_DATA APP_GLOBALRESOURCES
		APP_LOCALRESOURCES APP_WEBREFERENCES APP_BROWSERS AZURE BING BIZSPARK BIZTALK CORTANA
		DIRECTX DOTNET DYNAMICS EXCEL EXCHANGE FOREFRONT GROOVE HOLOLENS HYPERV KINECT LYNC MSDN
		O365 OFFICE OFFICE365 ONEDRIVE ONENOTE OUTLOOK POWERPOINT SHAREPOINT SKYPE VISIO
		VISUALSTUDIO WEB.CONFIG XBOX`) {
		reservedExact[w] = true
	}
}

// IsReservedName reports whether a name is or contains one of Azure's reserved words.
func IsReservedName(name string) bool {
	u := strings.ToUpper(name)
	if reservedExact[u] {
		return true
	}
	for _, s := range reservedSub {
		if strings.Contains(u, s) {
			return true
		}
	}
	for _, p := range reservedPre {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// typeWords turns the last segment of a type into singular words: storageAccounts ->
// "storage account", publicIPAddresses -> "public IP address".
func typeWords(typ string) string {
	seg := []rune(typ[strings.LastIndex(typ, "/")+1:])
	var words []string
	startW := 0
	for i := 1; i <= len(seg); i++ {
		boundary := i == len(seg) ||
			unicode.IsUpper(seg[i]) && (unicode.IsLower(seg[i-1]) || i+1 < len(seg) && unicode.IsLower(seg[i+1]))
		if boundary {
			words = append(words, string(seg[startW:i]))
			startW = i
		}
	}
	for i, w := range words {
		if len(w) > 1 && strings.ToUpper(w) == w {
			continue // an acronym: IP
		}
		words[i] = strings.ToLower(w)
	}
	s := strings.Join(words, " ")
	switch {
	case strings.HasSuffix(s, "ies"):
		s = strings.TrimSuffix(s, "ies") + "y"
	case strings.HasSuffix(s, "sses"), strings.HasSuffix(s, "ches"), strings.HasSuffix(s, "xes"):
		s = s[:len(s)-2]
	case strings.HasSuffix(s, "s"):
		s = strings.TrimSuffix(s, "s")
	}
	return s
}

// CheckName applies a type's naming rule: the length, the pattern, '#' and control
// characters, and the reserved words when the rule asks for them.
func CheckName(rt *ResourceType, name string) *Error {
	rule := rt.Name
	code := rule.Code
	if code == "" {
		code = "InvalidResourceName"
	}
	bad := func() *Error {
		var msg string
		if code == "InvalidResourceName" {
			msg = fmt.Sprintf("Resource name %s is invalid.", name)
		} else {
			msg = fmt.Sprintf("%s is not a valid %s name.", name, typeWords(rt.Type))
		}
		if rule.Describe != "" {
			msg += " " + rule.Describe
		}
		return &Error{Status: http.StatusBadRequest, Code: code, Message: msg, Target: "name"}
	}
	n := utf8.RuneCountInString(name)
	minLen, maxLen := rule.Min, rule.Max
	if minLen <= 0 {
		minLen = 1
	}
	if maxLen <= 0 {
		maxLen = 260
	}
	if n < minLen || n > maxLen {
		return bad()
	}
	if strings.ContainsAny(name, "#<>%&\\?/") || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return bad()
	}
	if rule.Pattern != nil && !rule.Pattern.MatchString(name) {
		return bad()
	}
	if rule.ReservedWords && IsReservedName(name) {
		return Errorf(http.StatusBadRequest, "ReservedResourceName",
			"The resource name %s or a part of the name is a trademarked or reserved word.", name)
	}
	return nil
}

// CheckTags validates the "tags" of a body against a type's rule and Azure's: at most 50 tags
// (or the rule's limit), names of at most 512 characters without < > % & \ ? / or control
// characters and without the reserved prefixes microsoft, azure and windows, values of at
// most 256 characters, all strings.
func CheckTags(rule TagRule, tags any) *Error {
	if tags == nil {
		return nil
	}
	m, ok := tags.(map[string]any)
	if !ok {
		return Errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and cannot be deserialized: 'tags' must be an object of strings.")
	}
	maxTags, maxName, maxValue := rule.MaxTags, rule.MaxNameLength, rule.MaxValueLength
	if maxTags <= 0 {
		maxTags = 50
	}
	if maxName <= 0 {
		maxName = 512
	}
	if maxValue <= 0 {
		maxValue = 256
	}
	if len(m) > maxTags {
		return Errorf(http.StatusBadRequest, "InvalidTagCount",
			"The number of tags '%d' exceeds the maximum of '%d' tags per resource.", len(m), maxTags)
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var badChars []string
	seen := map[string]bool{}
	for _, k := range names {
		v, ok := m[k].(string)
		if !ok && m[k] != nil {
			return Errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and cannot be deserialized: the value of tag '%s' must be a string.", k)
		}
		if strings.ContainsAny(k, "<>%&\\?/") || strings.IndexFunc(k, unicode.IsControl) >= 0 {
			badChars = append(badChars, k)
			continue
		}
		if k == "" {
			return Errorf(http.StatusBadRequest, "InvalidTagName", "The tag name must not be empty.")
		}
		lk := strings.ToLower(k)
		if seen[lk] {
			return Errorf(http.StatusBadRequest, "InvalidTagName", "The tag name '%s' is given twice: tag names are case-insensitive.", k)
		}
		seen[lk] = true
		for _, p := range []string{"microsoft", "azure", "windows"} {
			if strings.HasPrefix(lk, p) {
				return Errorf(http.StatusBadRequest, "InvalidTagName", "The tag name '%s' has the reserved prefix '%s'.", k, p)
			}
		}
		if utf8.RuneCountInString(k) > maxName {
			return Errorf(http.StatusBadRequest, "InvalidTagNameLength", "The tag name '%s' exceeds the maximum length of '%d' characters.", k, maxName)
		}
		if utf8.RuneCountInString(v) > maxValue {
			return Errorf(http.StatusBadRequest, "InvalidTagValueLength", "The value of tag '%s' exceeds the maximum length of '%d' characters.", k, maxValue)
		}
	}
	if len(badChars) > 0 {
		return Errorf(http.StatusBadRequest, "InvalidTagNameCharacters",
			"The tag names '%s' have reserved characters '<,>,%%,&,\\,?,/' or control characters.", strings.Join(badChars, ","))
	}
	return nil
}
