package nlp

import "time"

// Location is a place named in a text: an administrative division resolved
// against the embedded gazetteer, or a road, community or landmark.
type Location struct {
	// Field is "title" or "text"; the extractor leaves it empty and Analyze
	// fills it in.
	Field string `json:"field"`
	// Text is the mention as written; Start and End are rune offsets of it
	// in the text given to ExtractLocations.
	Text  string `json:"text"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	// Kind is "admin" (a division of the gazetteer), "road" (路, 街, 大道,
	// 巷, 胡同, 国道…), "place" (小区, 村, 大厦, 医院, 车站… and relative
	// positions such as 东侧25米) or "foreign" (a place abroad, never a
	// code).
	Kind string `json:"kind"`
	// Code is the 2023 statistical code of the smallest division the
	// mention resolves to (2 digits province, 4 city, 6 county, 9 township),
	// empty when unresolved or ambiguous. Roads and places carry no code.
	Code string `json:"code"`
	// Name is the full path of that division, e.g. 福建省/福州市/马尾区,
	// empty when Code is empty (except for Hong Kong, Macao and Taiwan,
	// which the source names without a statistical code).
	Name string `json:"name"`
}

// TimeMention is a date or time named in a text, resolved against a
// reference time.
type TimeMention struct {
	// Field is "title" or "text"; filled in by Analyze.
	Field string `json:"field"`
	// Text is the expression as written; Start and End are rune offsets.
	Text  string `json:"text"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	// Time is the start of the period the expression names, in China
	// Standard Time (UTC+8).
	Time time.Time `json:"time"`
	// Precision says how much of Time is meaningful: "year", "month",
	// "day", "part_of_day" (上午, 晚上…), "hour", "minute" or "second".
	Precision string `json:"precision"`
}

// Entity is a contact or payment detail named in a text, typical evidence
// of fraud: a phone number, a bank card, a URL, an amount of money, or a QQ
// or WeChat id introduced as such.
type Entity struct {
	// Field is "title" or "text"; filled in by Analyze.
	Field string `json:"field"`
	// Kind is "phone", "bank_card", "url", "money", "qq" or "wechat".
	Kind string `json:"kind"`
	// Text is the entity as written; Start and End are rune offsets.
	Text  string `json:"text"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	// Value is the normalised form: digits only for phones (landlines as
	// area-number), cards and QQ ids; the amount in yuan for money (e.g.
	// "35000", "0.5"); the URL and the WeChat id as written.
	Value string `json:"value"`
}
