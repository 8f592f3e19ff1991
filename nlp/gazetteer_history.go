package nlp

// gazHistoric maps division names that are no longer in use to the code of
// the division that took their place, so that an old name in a post (people
// still write 密云县, 萧山市, 襄樊) gets today's code.
//
// Source: the State Council's approvals (国务院批复) of each change, as
// published by the Ministry of Civil Affairs in its yearly lists of changes
// to county-level and higher divisions; the year given is the approval's.
// Only renames and mergers with a single successor are listed: a division
// split between several (吴县市, 锡山市) has no one code to give.
var gazHistoric = []struct {
	name, code string
	year       int
	// weak marks old names that also read as ordinary words (通县 in
	// 普通县城); they count only beside a related division, as weak
	// short forms do.
	weak bool
}{
	// Beijing: counties became districts; two old districts merged.
	{"通县", "110112", 1997, true},
	{"顺义县", "110113", 1998, false},
	{"昌平县", "110114", 1999, false},
	{"大兴县", "110115", 2001, false},
	{"怀柔县", "110116", 2001, false},
	{"平谷县", "110117", 2001, false},
	{"密云县", "110118", 2015, false},
	{"延庆县", "110119", 2015, false},
	{"宣武区", "110102", 2010, false}, // into 西城区
	{"崇文区", "110101", 2010, false}, // into 东城区
	// Tianjin.
	{"塘沽区", "120116", 2009, false}, // into 滨海新区
	{"汉沽区", "120116", 2009, false},
	{"大港区", "120116", 2009, false},
	{"宁河县", "120117", 2015, false},
	{"静海县", "120118", 2015, false},
	{"蓟县", "120119", 2016, false}, // 蓟州区
	// Shanghai.
	{"南汇区", "310115", 2009, false}, // into 浦东新区
	{"卢湾区", "310101", 2011, false}, // into 黄浦区
	{"闸北区", "310106", 2015, false}, // into 静安区
	{"崇明县", "310151", 2016, false},
	// Jiangsu.
	{"江宁县", "320115", 2000, false},
	{"溧水县", "320117", 2013, false},
	{"高淳县", "320118", 2013, false},
	{"武进市", "320412", 2002, false},
	{"铜山县", "320312", 2010, false},
	{"吴江市", "320509", 2012, false},
	{"江都市", "321012", 2011, false},
	// Zhejiang.
	{"萧山市", "330109", 2001, false},
	{"余杭市", "330110", 2001, false},
	{"富阳市", "330111", 2014, false},
	{"临安市", "330112", 2017, false},
	{"鄞县", "330212", 2002, false}, // 鄞州区
	{"奉化市", "330213", 2016, false},
	{"绍兴县", "330603", 2013, false}, // 柯桥区
	{"上虞市", "330604", 2013, false},
	// Fujian.
	{"长乐市", "350112", 2017, false},
	{"同安县", "350212", 1997, false},
	// Shandong.
	{"章丘市", "370114", 2016, false},
	{"即墨市", "370215", 2017, false},
	{"胶南市", "370211", 2012, false}, // into 黄岛区
	// Hubei and Hunan.
	{"京山县", "420882", 2018, false}, // 京山市
	{"襄樊市", "4206", 2010, false},   // 襄阳市
	{"襄樊", "4206", 2010, false},
	{"望城县", "430112", 2011, false},
	// Guangdong.
	{"番禺市", "440113", 2000, false},
	{"花都市", "440114", 2000, false},
	{"从化市", "440117", 2014, false},
	{"增城市", "440118", 2014, false},
	{"斗门县", "440403", 2001, false},
	{"南海市", "440605", 2002, false},
	{"顺德市", "440606", 2002, false},
	{"三水市", "440607", 2002, false},
	{"高明市", "440608", 2002, false},
	// Chongqing, Sichuan, Yunnan, Shaanxi.
	{"江津市", "500116", 2006, false},
	{"合川市", "500117", 2006, false},
	{"永川市", "500118", 2006, false},
	{"新都县", "510114", 2001, false},
	{"温江县", "510115", 2002, false},
	{"双流县", "510116", 2015, false},
	{"郫县", "510117", 2016, false}, // 郫都区
	{"思茅市", "5308", 2007, false},  // 普洱市
	{"长安县", "610116", 2002, false},
}
