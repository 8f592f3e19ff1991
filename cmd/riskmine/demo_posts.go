package main

import "time"

// demoPost is one post of the bundled demo world. All of them were written
// for riskmine: the places are real districts and roads of Fuzhou so that the
// gazetteer resolves them, the events are invented.
type demoPost struct {
	id     string
	site   string // forum, news, feed or notice
	title  string
	body   []string // paragraphs
	author string
	// age is how long before the demo started the post was published; a
	// negative age makes the post appear that long after the start, so that
	// scheduled scans find new content while the demo runs.
	age time.Duration
}

// The demo sites, in the order they are started.
const (
	demoForum  = "forum"  // a local forum, UTF-8, paginated lists
	demoNews   = "news"   // a city news site, GBK pages
	demoFeed   = "feed"   // an RSS feed with full text
	demoNotice = "notice" // a government notice board, declares gb2312 but serves UTF-8
)

var demoPosts = []demoPost{
	// A fire reported on the forum, then by the news site and the feed: one incident, three sites.
	{id: "f101", site: demoForum, author: "仓山老街坊", age: 50 * time.Minute,
		title: "仓山区上渡路一居民楼起火，浓烟滚滚",
		body: []string{
			"刚刚路过福州市仓山区上渡路，看到一栋六层居民楼三楼窗户往外冒黑烟，火苗很大，有人在阳台上喊救命。",
			"消防车已经到了，好几个人被困在楼上，楼下围了很多人，大家不要靠近。"}},
	{id: "n201", site: demoNews, author: "本报记者 林晓", age: 35 * time.Minute,
		title: "福州仓山上渡路居民楼突发火灾 3人被困后获救",
		body: []string{
			"今日下午，福州市仓山区上渡路一居民楼三层发生火灾，现场浓烟滚滚。消防救援人员到场后迅速展开救援，3名被困居民被安全转移，1人轻微受伤送医。",
			"目前起火原因正在调查中。消防部门提醒市民，离家前注意检查电器和燃气。"}},
	{id: "r301", site: demoFeed, author: "福州城事", age: 30 * time.Minute,
		title: "上渡路居民楼火灾：3名被困居民获救",
		body: []string{
			"据现场网友反映，福州市仓山区上渡路一居民楼发生火灾，3名居民被困，消防救援人员已将其救出，1人受伤送医。",
			"起火原因仍在调查。"}},

	// A gas leak with an evasive spelling on the forum.
	{id: "f102", site: demoForum, author: "晋安小王", age: 40 * time.Minute,
		title: "晋安区福新路小区楼道燃 气泄 漏，味道很冲",
		body: []string{
			"晋安区福新路金辉小区5号楼楼道里一股很浓的燃气味，怀疑是燃气泄漏，已经打了燃气公司电话，有老人小孩的先别开火，别按电梯。",
			"物业说马上派人来，希望没事。"}},

	// A missing manhole cover with its road and distance.
	{id: "f103", site: demoForum, author: "鼓楼骑手", age: 25 * time.Minute,
		title: "福州鼓楼区五四路井盖丢失，晚上骑车太危险",
		body: []string{
			"福州市鼓楼区五四路与湖东路交叉口东侧25米，人行道上一个井盖丢失了，下面是很深的窨井，晚上没有路灯根本看不见。",
			"今天早上已经有一个骑电动车的人差点摔进去，希望城管和相关部门尽快处理。"}},
	{id: "x401", site: demoNotice, author: "鼓楼区城市管理局", age: 10 * time.Minute,
		title: "关于五四路人行道井盖缺失的处置通报",
		body: []string{
			"接群众反映，福州市鼓楼区五四路与湖东路交叉口东侧人行道井盖缺失，存在安全隐患。",
			"我局已派员设置围挡和警示标志，并通知权属单位于今日内完成补装。"}},

	// Telecom fraud.
	{id: "f104", site: demoForum, author: "小心被骗", age: 3 * time.Hour,
		title: "提醒大家：冒充公检法的电话又来了",
		body: []string{
			"我妈今天接到电话，对方自称是公安局的，说她的银行卡涉嫌洗钱，要把钱转到安全账户配合调查，还让她报验证码。",
			"对方留的电话是 0591-12345678，还说要转账5万元保证金。幸好我在家拦住了，大家一定提醒家里老人，这是诈 骗！"}},
	{id: "r302", site: demoFeed, author: "福州城事", age: 2 * time.Hour,
		title: "刷单返利骗局又出新花样 台江一女子被骗3.8万元",
		body: []string{
			"台江区一女子在网上看到兼职刷单广告，对方承诺高额返利，前几单确实返了佣金，随后以“任务未完成无法提现”为由，要求她继续充值，先后被骗3.8万元。",
			"警方提醒：所有刷单都是诈骗，不要轻信高额返利。"}},

	// Wage-arrears gathering.
	{id: "f105", site: demoForum, author: "讨薪工友", age: 90 * time.Minute,
		title: "马尾区某工地几十名工人聚集讨薪",
		body: []string{
			"马尾区江滨东大道一个在建工地门口，几十名工人拉着横幅聚集讨薪，说包工头拖欠了半年工资，已经闹了一上午。",
			"有人说要去区政府门口集体上访，现场来了不少警察维持秩序。"}},

	// Explosion at a work site.
	{id: "n202", site: demoNews, author: "本报讯", age: 4 * time.Hour,
		title: "长乐区一工厂车间发生爆炸 2名工人受伤",
		body: []string{
			"今日上午，福州市长乐区一家化工厂车间突然发生爆炸，现场传出巨响，2名工人受伤被送往医院救治。",
			"应急管理部门已赶赴现场，爆炸原因正在调查，厂区已停产整顿。"}},

	// Flooding after a rainstorm.
	{id: "r303", site: demoFeed, author: "福州城事", age: 5 * time.Hour,
		title: "暴雨致晋安区多条道路积水 一辆轿车被困",
		body: []string{
			"受强降雨影响，晋安区多条道路出现严重积水，一辆轿车在涵洞内熄火被困，司机被路人救出。",
			"气象台已发布暴雨橙色预警，请市民减少出行。"}},

	// Food poisoning.
	{id: "n203", site: demoNews, author: "本报记者 陈静", age: 6 * time.Hour,
		title: "台江区一小学多名学生出现呕吐腹泻 疑似食物中毒",
		body: []string{
			"台江区一所小学十余名学生午餐后陆续出现呕吐、腹泻症状，被送往医院治疗，目前均无生命危险。",
			"市场监管部门已对学校食堂留样封存，疑似食物中毒原因正在调查。"}},

	// Negated report and rumour rebuttal: must not become leads.
	{id: "x402", site: demoNotice, author: "福州市应急管理局", age: 2 * time.Hour,
		title: "关于网传“东街口商场起火”的辟谣",
		body: []string{
			"近日网传福州市鼓楼区东街口某商场起火的消息为谣言。经核实，该商场并未发生火灾，现场冒烟系空调外机维修产生的水汽。",
			"请广大市民不信谣、不传谣。"}},
	// A fire drill: a false alarm by design.
	{id: "x403", site: demoNotice, author: "仓山区消防救援大队", age: 8 * time.Hour,
		title: "仓山区开展高层建筑消防演练",
		body: []string{
			"为提高居民应急疏散能力，仓山区在万达广场开展高层建筑消防演练，模拟火情发生后的报警、疏散和初期灭火。",
			"本次演练共有300余名居民参加。"}},
	// Figurative uses of hazard words.
	{id: "f106", site: demoForum, author: "吃货小林", age: 7 * time.Hour,
		title: "这家火锅店生意太火爆了",
		body: []string{
			"台江万达新开的火锅店生意火爆，排队两个小时才吃上，味道确实炸裂，推荐他们家的毛肚。",
			"就是停车有点难。"}},
	{id: "f107", site: demoForum, author: "游戏宅", age: 9 * time.Hour,
		title: "新版本的爆炸特效真好看",
		body: []string{
			"昨晚更新的游戏里，爆炸特效做得很棒，团战的时候满屏火光，就是手机有点发烫。",
			"有没有一起开黑的？"}},

	// Ordinary chatter and news.
	{id: "f108", site: demoForum, author: "晨跑爱好者", age: 11 * time.Hour,
		title: "闽江边晨跑路线推荐",
		body: []string{
			"每天早上从解放大桥沿着闽江跑到三县洲大桥，来回大概八公里，空气好，风景也不错。",
			"周末有一起跑的朋友可以留言。"}},
	{id: "f109", site: demoForum, author: "新手爸爸", age: 12 * time.Hour,
		title: "鼓楼区哪家幼儿园比较好？",
		body: []string{
			"孩子明年要上幼儿园了，想问问鼓楼区这边大家有什么推荐，公办民办都可以。",
			"离五四路近一点最好。"}},
	{id: "n204", site: demoNews, author: "本报讯", age: 10 * time.Hour,
		title: "福州地铁新线路明年开通 沿线设站20座",
		body: []string{
			"记者从福州地铁集团获悉，新线路预计明年开通运营，全线设站20座，将进一步方便市民出行。",
			"届时福州地铁线网总里程将进一步增加。"}},
	{id: "r304", site: demoFeed, author: "福州城事", age: 13 * time.Hour,
		title: "三坊七巷周末将举办非遗文化展",
		body: []string{
			"本周末，三坊七巷将举办非物质文化遗产展示活动，市民可以现场体验脱胎漆器、软木画等传统技艺。",
			"活动免费参观。"}},
	{id: "x404", site: demoNotice, author: "福州市人民政府办公厅", age: 20 * time.Hour,
		title: "关于春节期间公共交通运营时间调整的通知",
		body: []string{
			"春节期间，市区公交线路运营时间将作适当调整，具体安排以各线路站牌公告为准。",
			"特此通知。"}},
	{id: "n205", site: demoNews, author: "本报讯", age: 15 * time.Hour,
		title: "福州今年新增城市公园15个",
		body: []string{
			"今年以来，福州市新建改造城市公园15个，新增绿地面积约30万平方米，市民休闲健身更加便利。",
			"相关部门表示，明年将继续推进口袋公园建设。"}},

	// Posts that appear while the demo runs.
	{id: "f110", site: demoForum, author: "华林路住户", age: -90 * time.Second,
		title: "华林路一小区地下车库电动车着火了",
		body: []string{
			"福州鼓楼区华林路一个小区地下车库里一辆电动车突然起火，烟很大，整个车库都是黑烟，已经有人报警，大家别下车库。",
			"听说有两个人被困在电梯里，消防正在救援。"}},
	{id: "n206", site: demoNews, author: "本报讯", age: -150 * time.Second,
		title: "鼓楼区华林路小区车库电动车起火 消防救出被困2人",
		body: []string{
			"今日，福州市鼓楼区华林路一小区地下车库内一辆电动车起火，产生大量浓烟，2名居民被困电梯。",
			"消防救援人员到场后迅速扑灭明火，并将被困人员救出，无人员伤亡。"}},
	{id: "r305", site: demoFeed, author: "福州城事", age: -4 * time.Minute,
		title: "网友爆料：六一路路面塌陷出现大坑",
		body: []string{
			"有网友反映，台江区六一路靠近茶亭公园路口北100米处路面塌陷，出现一个直径约两米的大坑，已有车辆避让不及。",
			"市政部门已到场设置围挡。"}},
	{id: "x405", site: demoNotice, author: "晋安区人民政府", age: -5 * time.Minute,
		title: "关于晋安区部分区域停水的通知",
		body: []string{
			"因管网维修，晋安区部分区域将于明日停水8小时，请居民提前做好储水准备。",
			"给您带来的不便，敬请谅解。"}},
	{id: "f111", site: demoForum, author: "热心市民", age: -6 * time.Minute,
		title: "好消息！小区门口的路灯终于修好了",
		body: []string{
			"之前反映的仓山区小区门口路灯不亮的问题，今天终于修好了，晚上回家亮堂多了，给城管点赞。",
			"希望以后有问题都能这么快解决。"}},
}
