package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// loadPostGen writes varied Chinese posts for load tests: local news and
// forum posts that report hazards or chatter, full of names, shops,
// companies, phone numbers, order and case numbers, plates, amounts, times
// and ids, so that the index's dictionary holds hundreds of thousands of
// distinct words and character pairs, as a real crawl's does. The text is
// our own; the districts are real ones of Fujian so that the gazetteer
// resolves them. A seed gives the same posts every time.
type loadPostGen struct {
	r   *rand.Rand
	seq int
}

func newLoadPostGen(seed uint64) *loadPostGen {
	return &loadPostGen{r: rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))}
}

var (
	loadDistricts = []string{"福州市鼓楼区", "福州市台江区", "福州市仓山区", "福州市马尾区", "福州市晋安区", "福州市长乐区",
		"厦门市思明区", "厦门市湖里区", "厦门市集美区", "泉州市丰泽区", "漳州市芗城区", "莆田市城厢区", "龙岩市新罗区", "宁德市蕉城区"}
	loadRoads = []string{"湖东路", "八一七北路", "五四路", "工业路", "福新路", "江滨大道", "嘉禾路", "厦禾路", "津头路",
		"学府路", "金山大道", "二环路", "杨桥路", "六一路", "华林路", "温泉路", "上渡路", "则徐大道"}
	loadSpots = []string{"小区", "花园", "广场", "市场", "医院", "小学", "中学", "工业园", "物流园", "仓库", "加油站",
		"商场", "地铁站", "汽车站", "菜市场", "公园", "工地", "化工厂", "写字楼", "城中村", "夜市", "酒店"}
	loadSurnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	loadGiven    = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌宇浩凯婷雪琳晨欣怡佳俊峰波海燕丹亮成林宏飞鑫雨思梦晓阳天子涵轩博睿诚嘉琪瑶颖蕾倩萱妍彤悦然昊宁晶慧珍凤洁琴云莉梅淑春荣新利清彬坤德胜昌发祥瑞宝庆福寿喜安康泰乐永恒达源盛兴隆通顺")
	loadTrades   = []string{"商贸", "建材", "物流", "餐饮", "科技", "电子", "服装", "食品", "装饰", "汽修", "化工", "贸易", "网络", "劳务", "物业"}
	loadFirms    = []string{"有限公司", "集团", "商行", "经营部", "店", "工作室", "合作社"}
	loadHazards  = []string{
		"%s附近一栋居民楼突发火灾，浓烟滚滚，消防救援人员迅速赶到现场扑救。",
		"据目击者称，%s的一间仓库起火，火势蔓延很快，附近居民紧急疏散。",
		"今天凌晨%s发生一起电动车充电引发的火灾，楼道里全是黑烟。",
		"一座5G基站起火，%s一带手机信号中断了两个小时。",
		"%s传来一声巨响，疑似燃气爆炸，周边商铺玻璃被震碎。",
		"%s附近燃气泄漏，气味很大，燃气公司正在紧急抢修。",
		"一辆运输危化品的槽罐车在%s发生泄漏，交警已封闭道路。",
		"%s一处老旧房屋发生坍塌，有人员被困，救援正在进行。",
		"连续降雨导致%s附近路面塌陷，出现一个大坑。",
		"%s路口发生一起三车追尾事故，造成交通严重拥堵。",
		"受台风影响，%s出现严重内涝，多辆汽车被淹。",
		"多名学生在%s食堂就餐后出现呕吐腹泻症状，疑似食物中毒。",
		"警方提醒，近期%s一带出现冒充客服退款的电信诈骗，已有多人被骗。",
		"数十名工人聚集在%s门口讨要拖欠的工资，现场秩序混乱。",
		"%s的井盖丢失多日，晚上路过非常危险，希望有关部门尽快处理。",
		"%s附近的河道出现大面积死鱼，河水发黑发臭，疑似工厂偷排污水。",
	}
	loadChatter = []string{
		"今天天气不错，很多市民带着孩子到公园散步。",
		"这家新开的奶茶店排队的人特别多，味道确实还可以，就是价格有点贵。",
		"小区物业最近换了，新的物业公司服务态度好了很多。",
		"楼主想问一下附近有没有靠谱的装修公司。",
		"周末带家人去吃了海鲜大排档，蛏子和花蛤都很新鲜。",
		"最近菜价有所上涨，猪肉每斤涨了两三块钱。",
		"市图书馆周末有免费的亲子阅读活动，需要提前预约。",
		"有没有人知道办理居住证需要带哪些材料。",
		"医院新开了线上预约挂号，不用再排长队了。",
		"公交公司调整了三条线路的发车时间。",
		"社区组织志愿者清理河道垃圾，参加的居民有三十多人。",
		"为提高居民安全意识，社区将于下周三开展消防演练。",
		"市场监管部门开展食品安全专项检查。",
	}
	loadSources = []string{"forum", "news", "gov", "weibo", "rss", "tieba"}
	loadSites   = []string{"bbs.example.cn", "news.example.com", "gov.example.cn", "weibo.example.com", "feeds.example.org", "tieba.example.com"}
)

// rare returns a character of the whole CJK unified block: names of
// people, shops and villages use thousands of characters, and each new one
// adds character pairs to the dictionary.
func (g *loadPostGen) rare() rune { return rune(0x4E00 + g.r.IntN(0x9FA5-0x4E00+1)) }

func (g *loadPostGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *loadPostGen) name() string {
	var b strings.Builder
	b.WriteRune(loadSurnames[g.r.IntN(len(loadSurnames))])
	for range 1 + g.r.IntN(2) {
		if g.r.IntN(4) == 0 {
			b.WriteRune(g.rare())
		} else {
			b.WriteRune(loadGiven[g.r.IntN(len(loadGiven))])
		}
	}
	return b.String()
}

func (g *loadPostGen) firm() string {
	var b strings.Builder
	b.WriteString(g.pick(loadDistricts)[:9]) // the city, three characters
	for range 2 {
		if g.r.IntN(3) == 0 {
			b.WriteRune(g.rare())
		} else {
			b.WriteRune(loadGiven[g.r.IntN(len(loadGiven))])
		}
	}
	b.WriteString(g.pick(loadTrades))
	b.WriteString(g.pick(loadFirms))
	return b.String()
}

// detail is a sentence full of numbers, names and ids.
func (g *loadPostGen) detail() string {
	r := g.r
	switch r.IntN(10) {
	case 0:
		return fmt.Sprintf("联系人%s，电话1%d%09d。", g.name(), 3+r.IntN(7), r.IntN(1e9))
	case 1:
		return fmt.Sprintf("订单号%d%010d，金额%d.%02d元。", 2020+r.IntN(7), r.Int64N(1e10), r.IntN(100000), r.IntN(100))
	case 2:
		return fmt.Sprintf("案号（%d）闽%04d民初%d号，当事人%s与%s。", 2018+r.IntN(9), 100+r.IntN(900), r.IntN(30000), g.name(), g.firm())
	case 3:
		return fmt.Sprintf("车牌闽%c%c%04d的车辆停在%d栋%d室楼下。", 'A'+rune(r.IntN(8)), 'A'+rune(r.IntN(26)), r.IntN(10000), 1+r.IntN(40), 101+r.IntN(3200))
	case 4:
		return fmt.Sprintf("%d年%d月%d日%02d:%02d，%s在%s反映情况，工单编号GD%08d。", 2024+r.IntN(3), 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), g.name(), g.firm(), r.IntN(1e8))
	case 5:
		return fmt.Sprintf("网友@%s_%x发帖称：%s的老板%s欠款%d万元。", g.name(), r.Uint32(), g.firm(), g.name(), 1+r.IntN(900))
	case 6:
		return fmt.Sprintf("详情见 https://t.example.cn/s/%x ，转发%d次，评论%d条，点赞%d。", r.Uint64(), r.IntN(50000), r.IntN(9000), r.IntN(200000))
	case 7:
		return fmt.Sprintf("%s村%s组的%s说，事发时间约为%d点%d分，距离%s约%d米。", string([]rune{g.rare(), g.rare()}), string(loadGiven[r.IntN(len(loadGiven))]), g.name(), r.IntN(24), r.IntN(60), g.pick(loadRoads), 10+r.IntN(5000))
	case 8:
		return fmt.Sprintf("设备编号SN%d-%05d，批次%c%d，检测值%d.%dppm。", r.IntN(1000), r.IntN(100000), 'A'+rune(r.IntN(26)), r.IntN(1000), r.IntN(500), r.IntN(10))
	default:
		return fmt.Sprintf("%s、%s和%s都在%s%s附近工作，身份证尾号%04d。", g.name(), g.name(), g.name(), g.pick(loadRoads), g.pick(loadSpots), r.IntN(10000))
	}
}

// loadPost is one line of an import file (riskmine index import).
type loadPost struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	Title       string `json:"title"`
	Text        string `json:"text"`
	PublishedAt string `json:"published_at"`
	Source      string `json:"source"`
}

// next returns a post of about size bytes of text.
func (g *loadPostGen) next(size int) loadPost {
	g.seq++
	r := g.r
	spot := g.pick(loadDistricts) + g.pick(loadRoads) + g.name()[:3] + g.pick(loadSpots)
	var b strings.Builder
	var title string
	if r.IntN(3) > 0 {
		h := fmt.Sprintf(g.pick(loadHazards), spot)
		title = string([]rune(h)[:min(len([]rune(h)), 20)])
		b.WriteString(h)
	} else {
		title = fmt.Sprintf("%s：%s", g.firm(), g.pick(loadChatter))
	}
	for b.Len() < size {
		if r.IntN(2) == 0 {
			b.WriteString(g.detail())
		} else {
			b.WriteString(g.pick(loadChatter))
		}
	}
	src := r.IntN(len(loadSources))
	pub := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).Add(-time.Duration(r.IntN(180*24*60)) * time.Minute)
	return loadPost{
		ID:          fmt.Sprintf("p%d", g.seq),
		URL:         fmt.Sprintf("https://%s/t/%d-%x", loadSites[src], g.seq, r.Uint32()),
		Title:       title,
		Text:        b.String(),
		PublishedAt: pub.Format(time.RFC3339),
		Source:      loadSources[src],
	}
}

// writeLoadPosts writes n posts as JSON Lines.
func writeLoadPosts(w io.Writer, seed uint64, n, size int) error {
	g := newLoadPostGen(seed)
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	for range n {
		if err := enc.Encode(g.next(size)); err != nil {
			return err
		}
	}
	return bw.Flush()
}
