package index_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"riskmine/index"
)

// postGen writes realistic Chinese posts for benchmarks: local news and
// forum posts of about 2 KB mixing hazard reports, everyday chatter,
// official notices, places, times, numbers and a little English. The
// vocabulary is our own; division codes are real 2023 statistical codes of
// Fujian (source: National Bureau of Statistics division code list).
type postGen struct {
	r   *rand.Rand
	seq int
}

func newPostGen(seed uint64) *postGen {
	return &postGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

type genPlace struct{ name, code string }

var (
	genPlaces = []genPlace{
		{"福州市鼓楼区", "350102"}, {"福州市台江区", "350103"}, {"福州市仓山区", "350104"},
		{"福州市马尾区", "350105"}, {"福州市晋安区", "350111"}, {"福州市长乐区", "350112"},
		{"厦门市思明区", "350203"}, {"厦门市海沧区", "350205"}, {"厦门市湖里区", "350206"},
		{"厦门市集美区", "350211"}, {"泉州市鲤城区", "350502"}, {"泉州市丰泽区", "350503"},
		{"漳州市芗城区", "350602"}, {"莆田市城厢区", "350302"}, {"三明市三元区", "350404"},
		{"南平市延平区", "350702"}, {"龙岩市新罗区", "350802"}, {"宁德市蕉城区", "350902"},
	}
	genSpots = []string{"幸福小区", "阳光花园", "东街口", "五一广场", "火车站", "汽车南站", "万达广场",
		"人民医院", "实验小学", "工业园区", "物流仓库", "农贸市场", "滨江公园", "城中村", "地铁站", "高速公路收费站",
		"建筑工地", "化工厂", "加油站", "商业综合体", "老旧居民楼", "菜市场", "学校门口", "隧道入口"}
	genRoads = []string{"湖东路", "八一七北路", "五四路", "工业路", "福新路", "江滨大道", "嘉禾路", "厦禾路",
		"津头路", "学府路", "金山大道", "二环路", "324国道", "沈海高速", "机场高速"}
	genSources = []string{"forum", "news", "gov", "weibo", "rss", "tieba"}
	genSites   = []string{"bbs.example.cn", "news.example.com", "gov.example.cn", "weibo.example.com", "feeds.example.org", "tieba.example.com"}

	// genHazards are event sentences per category; %s is a spot.
	genHazards = map[string][]string{
		"fire": {
			"%s附近一栋居民楼突发火灾，浓烟滚滚，消防救援人员迅速赶到现场扑救。",
			"据目击者称，%s的一间仓库起火，火势蔓延很快，附近居民紧急疏散。",
			"今天凌晨%s发生一起电动车充电引发的火灾，楼道里全是黑烟。",
			"网友爆料%s一家餐馆后厨着火，明火已被扑灭，暂无人员伤亡。",
			"一座5G基站起火，附近%s一带手机信号中断了两个小时。",
		},
		"explosion": {
			"%s传来一声巨响，疑似燃气爆炸，周边商铺玻璃被震碎。",
			"有居民反映%s的锅炉房发生爆炸，现场有多人受伤被送往医院。",
		},
		"hazmat_leak": {
			"%s附近燃气泄漏，气味很大，燃气公司正在紧急抢修。",
			"一辆运输危化品的槽罐车在%s发生泄漏，交警已封闭道路。",
			"%s的化工厂疑似有毒气体泄露，周边居民感到头晕恶心。",
		},
		"collapse": {
			"%s一处老旧房屋发生坍塌，有人员被困，救援正在进行。",
			"连续降雨导致%s附近路面塌陷，出现一个直径三米的大坑。",
		},
		"traffic_accident": {
			"%s路口发生一起三车追尾事故，造成交通严重拥堵。",
			"一辆货车在%s侧翻，司机受轻伤，货物散落一地。",
			"早高峰时段%s发生交通事故，一名骑电动车的市民受伤。",
		},
		"natural_disaster": {
			"受台风影响，%s出现严重内涝，多辆汽车被淹。",
			"暴雨引发山体滑坡，%s附近的道路被泥石流冲断。",
		},
		"food_safety": {
			"多名学生在%s食堂就餐后出现呕吐腹泻症状，疑似食物中毒。",
			"有市民在%s买到过期变质的肉制品，已向市场监管部门投诉。",
		},
		"fraud": {
			"警方提醒，近期%s一带出现冒充客服退款的电信诈骗，已有多人被骗。",
			"有人在%s以高额返利为诱饵推销理财APP，疑似诈骗。",
		},
		"mass_incident": {
			"数十名工人聚集在%s门口讨要拖欠的工资，现场秩序混乱。",
			"因不满拆迁补偿，部分居民在%s聚集，警方到场维持秩序。",
		},
		"city_management": {
			"%s的井盖丢失多日，晚上路过非常危险，希望有关部门尽快处理。",
			"%s一带路灯不亮已经一个多星期，居民夜间出行很不方便。",
			"%s附近有人违章搭建，占用消防通道。",
		},
		"environment": {
			"%s附近的河道出现大面积死鱼，河水发黑发臭，疑似工厂偷排污水。",
			"每天晚上%s的工厂都排放刺鼻的废气，附近居民不敢开窗。",
		},
	}
	genCategories = []string{"fire", "explosion", "hazmat_leak", "collapse", "traffic_accident", "natural_disaster",
		"food_safety", "fraud", "mass_incident", "city_management", "environment"}

	// genChatter is everyday text with no hazard: most of every post.
	genChatter = []string{
		"今天天气不错，很多市民带着孩子到公园散步，享受周末的悠闲时光。",
		"这家新开的奶茶店排队的人特别多，味道确实还可以，就是价格有点贵。",
		"小区物业最近换了，新的物业公司服务态度好了很多，垃圾也清理得及时。",
		"地铁二号线延长段预计明年通车，沿线居民出行会方便不少。",
		"楼主想问一下附近有没有靠谱的装修公司，预算大概十五万左右。",
		"周末带家人去吃了海鲜大排档，蛏子和花蛤都很新鲜，推荐给大家。",
		"学校下周开始期中考试，家长们都在群里讨论复习资料。",
		"最近菜价有所上涨，猪肉每斤涨了两三块钱，青菜倒是便宜。",
		"市图书馆周末有免费的亲子阅读活动，需要提前在公众号预约。",
		"公司年会定在下个月，大家都在准备节目，有人说要表演相声。",
		"听说新的购物中心下个月开业，里面有电影院和溜冰场。",
		"社区组织志愿者清理河道垃圾，参加的居民有三十多人。",
		"这条路晚上车流量不大，适合夜跑，就是路边停车有点乱。",
		"有没有人知道办理居住证需要带哪些材料，网上说法不一样。",
		"今年的荔枝上市比往年早，品质也不错，十块钱三斤。",
		"医院新开了线上预约挂号，不用再排长队了，体验很好。",
		"孩子报了游泳班，教练很有耐心，两周就学会了换气。",
		"单位食堂的伙食改善了，每天都有四菜一汤，还有水果。",
		"旧城改造以后街道变得干净整洁，很多老房子翻新成了文创店。",
		"网友分享了一条适合骑行的滨海路线，全程大约二十五公里。",
		"The weather is nice today, 大家可以出门走走。",
		"新款手机发布会定在周四晚上八点，据说续航提升了百分之二十。",
		"这次社区运动会有拔河、跳绳和篮球比赛，奖品是大米和食用油。",
		"公交公司调整了三条线路的发车时间，早班车提前到五点半。",
	}
	// genNotices are official or exercise texts that share words with
	// hazards without being one (drills, safety education).
	genNotices = []string{
		"为提高居民安全意识，社区将于下周三开展消防演练，请大家积极参加。",
		"市应急管理局发布通知，要求各单位加强公共安全隐患排查。",
		"学校组织了防震减灾应急疏散演习，全体师生有序撤离。",
		"燃气公司提醒用户定期检查燃气管道和阀门，发现异常及时报修。",
		"交警部门发布节假日出行提示，请驾驶员注意安全、文明驾驶。",
		"市场监管部门开展食品安全专项检查，抽检合格率达到百分之九十八。",
	}
	genTitles = []string{"%s", "关于%s的情况反映", "%s最新消息", "求助：%s怎么办", "%s，有人知道吗", "网友爆料：%s"}
	genTimes  = []string{"今天上午", "昨天晚上", "凌晨三点左右", "中午十二点", "傍晚时分", "刚才", "前天下午"}
)

func (g *postGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// next returns a post of about size bytes.
func (g *postGen) next(size int) index.Doc {
	g.seq++
	place := genPlaces[g.r.IntN(len(genPlaces))]
	spot := place.name + g.pick(genRoads) + g.pick(genSpots)
	var cats []string
	level, score := "none", 0.0
	var b strings.Builder
	b.WriteString(g.pick(genTimes))
	b.WriteString("，")
	hazardous := g.r.IntN(3) > 0 // two posts in three report something
	var headline string
	if hazardous {
		cat := genCategories[g.r.IntN(len(genCategories))]
		cats = append(cats, cat)
		if g.r.IntN(5) == 0 {
			cats = append(cats, genCategories[g.r.IntN(len(genCategories))])
		}
		score = 1 + g.r.Float64()*14
		switch {
		case score >= 10:
			level = "critical"
		case score >= 6:
			level = "high"
		case score >= 3:
			level = "medium"
		default:
			level = "low"
		}
		headline = fmt.Sprintf(g.pick(genHazards[cat]), spot)
		b.WriteString(headline)
	}
	for b.Len() < size {
		switch n := g.r.IntN(10); {
		case n < 7:
			b.WriteString(g.pick(genChatter))
		case n < 9:
			b.WriteString(g.pick(genNotices))
		default:
			if hazardous {
				cat := cats[0]
				b.WriteString(fmt.Sprintf(g.pick(genHazards[cat]), g.pick(genSpots)))
			} else {
				fmt.Fprintf(&b, "联系电话%d，编号No.%05d。", 13800000000+g.r.IntN(99999999), g.r.IntN(100000))
			}
		}
		if g.r.IntN(6) == 0 {
			b.WriteString("\n")
		}
	}
	var title string
	if headline != "" {
		t := []rune(headline)
		title = string(t[:min(len(t), 18)])
	} else {
		t := []rune(g.pick(genChatter))
		title = string(t[:min(len(t), 14)])
	}
	title = fmt.Sprintf(g.pick(genTitles), title)
	src := g.r.IntN(len(genSources))
	pub := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).Add(-time.Duration(g.r.IntN(90*24*60)) * time.Minute)
	url := fmt.Sprintf("https://%s/post/%d", genSites[src], g.seq)
	return index.Doc{
		ID: fmt.Sprint(g.seq), URL: url, CanonicalURL: url,
		Source: genSources[src], Site: genSites[src],
		Title: title, Body: b.String(),
		PublishedAt: pub, FetchedAt: pub.Add(time.Duration(g.r.IntN(3600)) * time.Second),
		Categories: cats, Level: level, Score: score,
		LocationCodes: []string{place.code}, LocationNames: []string{"福建省/" + place.name},
	}
}
