package mimeparts

import (
	"fmt"

	"mailfs/remote"
)

// FileKind is what a file of a message's parts directory holds.
type FileKind int

const (
	// KindText is the message's main text/plain part.
	KindText FileKind = iota + 1
	// KindHTML is the message's main text/html part.
	KindHTML
	// KindAttachment is any other part worth a file: one with a file
	// name or an attachment disposition, or one that is not text.
	KindAttachment
	// KindMessage is an attached message (message/rfc822 or
	// message/global), as a whole: its own parts are not files.
	KindMessage
)

// String returns the name of k.
func (k FileKind) String() string {
	switch k {
	case KindText:
		return "text"
	case KindHTML:
		return "html"
	case KindAttachment:
		return "attachment"
	case KindMessage:
		return "message"
	}
	return fmt.Sprintf("FileKind(%d)", int(k))
}

// File is one file of a message's parts directory.
type File struct {
	// Name is the file's name: "text", "html", the part's decoded file
	// name as the message gives it (raw: it may hold "/", control
	// characters, anything, or repeat another's), or one made up from
	// the section and the media type ("part-1.2.pdf",
	// "message-3.eml").
	Name string
	// Kind is what the file holds.
	Kind FileKind
	// Part is the part the file shows (Decode of its body).
	Part remote.Part
}

// Files returns the files of a message's parts directory given its
// structure: the main text ("text", KindText) and the main HTML ("html",
// KindHTML) when the message has them, then every attachment and attached
// message in section order. The main text is the first text/plain part
// that is not an attachment (no file name, no attachment disposition),
// preferring one inside a multipart/alternative, and never inside an
// attached message; the main HTML likewise. Every other part that is not
// a multipart is a file if it has a file name or an attachment
// disposition or is not text. The result depends on root only.
func Files(root remote.Part) []File {
	var leaves []leaf
	collectLeaves(root, false, &leaves)
	text := mainPart(leaves, "plain")
	html := mainPart(leaves, "html")
	var files []File
	if text >= 0 {
		files = append(files, File{Name: "text", Kind: KindText, Part: leaves[text].part})
	}
	if html >= 0 {
		files = append(files, File{Name: "html", Kind: KindHTML, Part: leaves[html].part})
	}
	for i, l := range leaves {
		p := l.part
		if i == text || i == html || !(isAttachment(p) || p.Type != "text") {
			continue
		}
		if p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global") {
			name := p.Filename
			if name == "" {
				name = "message-" + p.Section + ".eml"
			}
			files = append(files, File{Name: name, Kind: KindMessage, Part: p})
			continue
		}
		name := p.Filename
		if name == "" {
			name = "part-" + p.Section + extension(p.Type, p.Subtype)
		}
		files = append(files, File{Name: name, Kind: KindAttachment, Part: p})
	}
	return files
}

// leaf is a part that is not a multipart, in section order.
type leaf struct {
	part  remote.Part
	inAlt bool // inside a multipart/alternative
}

// collectLeaves appends the parts of p that are not multiparts, not
// looking inside attached messages.
func collectLeaves(p remote.Part, inAlt bool, out *[]leaf) {
	if p.Type != "multipart" {
		if p.Section != "" { // not a part: a root that is not multipart is "1"
			*out = append(*out, leaf{part: p, inAlt: inAlt})
		}
		return
	}
	inAlt = inAlt || p.Subtype == "alternative"
	for _, c := range p.Parts {
		collectLeaves(c, inAlt, out)
	}
}

// mainPart returns the index of the main text/subtype part of leaves, -1
// when there is none.
func mainPart(leaves []leaf, subtype string) int {
	first := -1
	for i, l := range leaves {
		p := l.part
		if p.Type != "text" || p.Subtype != subtype || isAttachment(p) {
			continue
		}
		if l.inAlt {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	return first
}

// isAttachment reports whether p is meant as an attachment: it has a file
// name or an attachment disposition.
func isAttachment(p remote.Part) bool {
	return p.Filename != "" || p.Disposition == "attachment"
}

// extension returns the usual file name extension of a media type, ""
// when it has none known here. A fixed table, not mime.ExtensionsByType:
// the names must not depend on the machine's mime.types.
func extension(typ, subtype string) string {
	if ext, ok := extensions[typ+"/"+subtype]; ok {
		return ext
	}
	if typ == "text" {
		return ".txt"
	}
	return ""
}

// extensions maps media types to file name extensions.
var extensions = map[string]string{
	"application/gzip":                 ".gz",
	"application/ics":                  ".ics",
	"application/json":                 ".json",
	"application/msword":               ".doc",
	"application/octet-stream":         ".bin",
	"application/pdf":                  ".pdf",
	"application/pgp-encrypted":        ".pgp",
	"application/pgp-keys":             ".asc",
	"application/pgp-signature":        ".asc",
	"application/pkcs7-mime":           ".p7m",
	"application/pkcs7-signature":      ".p7s",
	"application/postscript":           ".ps",
	"application/rtf":                  ".rtf",
	"application/vnd.ms-excel":         ".xls",
	"application/vnd.ms-powerpoint":    ".ppt",
	"application/vnd.rar":              ".rar",
	"application/x-7z-compressed":      ".7z",
	"application/x-gzip":               ".gz",
	"application/x-pkcs7-mime":         ".p7m",
	"application/x-pkcs7-signature":    ".p7s",
	"application/x-rar-compressed":     ".rar",
	"application/x-tar":                ".tar",
	"application/x-zip-compressed":     ".zip",
	"application/xml":                  ".xml",
	"application/zip":                  ".zip",
	"audio/mp4":                        ".m4a",
	"audio/mpeg":                       ".mp3",
	"audio/ogg":                        ".ogg",
	"audio/wav":                        ".wav",
	"audio/x-wav":                      ".wav",
	"image/bmp":                        ".bmp",
	"image/gif":                        ".gif",
	"image/heic":                       ".heic",
	"image/jpeg":                       ".jpg",
	"image/jpg":                        ".jpg",
	"image/pjpeg":                      ".jpg",
	"image/png":                        ".png",
	"image/svg+xml":                    ".svg",
	"image/tiff":                       ".tif",
	"image/webp":                       ".webp",
	"message/delivery-status":          ".txt",
	"message/disposition-notification": ".txt",
	"text/calendar":                    ".ics",
	"text/csv":                         ".csv",
	"text/html":                        ".html",
	"text/markdown":                    ".md",
	"text/vcard":                       ".vcf",
	"text/x-vcard":                     ".vcf",
	"text/xml":                         ".xml",
	"video/mp4":                        ".mp4",
	"video/mpeg":                       ".mpg",
	"video/quicktime":                  ".mov",
	"video/webm":                       ".webm",
	"application/vnd.oasis.opendocument.presentation":                           ".odp",
	"application/vnd.oasis.opendocument.spreadsheet":                            ".ods",
	"application/vnd.oasis.opendocument.text":                                   ".odt",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         ".xlsx",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   ".docx",
}
