"""The citizen reporting tool's manifest: its categories (what a citizen may pick: citizen=True) and where
each is routed (by place), and the general kinds of place it owns."""

from app.toolkit import Category, Manifest, PlaceKind

CODE = "citizen_report"

MANIFEST = Manifest(
    code=CODE,
    name="静安码随手拍",
    icon="camera",
    version="1.0.0",
    roles=("worker", "operator", "manager", "admin"),
    description="市民扫描静安码拍照上报问题，转为工单并可查询进度（含 Open311 接口）",
    categories=(
        Category("environment", "市容环境卫生", route_to="street", limit="5 working days", citizen=True),
        Category("facilities", "道路及公共设施损坏", route_to="street", limit="5 working days", citizen=True),
        Category("construction", "工地施工扰民或安全", route_to="street", limit="3 working days", citizen=True),
        Category("waterlogging", "积水内涝", route_to="grid", limit="3 working days", citizen=True),
        Category("fall_risk", "高坠及房屋安全隐患", route_to="street", limit="3 working days", citizen=True),
        Category("occupation", "占道经营及违法搭建", route_to="street", limit="5 working days", citizen=True),
        Category("other", "其他问题", route_to="street", limit="5 working days", citizen=True),
    ),
    search_types=("report",),
    # Places that belong to no register of their own; every citizen category is offered there.
    place_kinds=(
        PlaceKind("committee", "居村委"),
        PlaceKind("street_furniture", "街道设施"),
        PlaceKind("public_space", "公共场所"),
        PlaceKind("other", "其他"),
    ),
)

# Open311 service descriptions and keywords, by category code.
SERVICE_DETAILS = {
    "environment": ("垃圾堆放、暴露垃圾、污水、乱张贴等", "垃圾,卫生,污水,环境", "市容环境"),
    "facilities": ("路面破损、井盖缺失、路灯不亮、护栏损坏等", "道路,井盖,路灯,设施", "城市设施"),
    "construction": ("夜间施工、噪声扬尘、围挡破损、工地安全等", "工地,施工,噪声,扬尘", "工地"),
    "waterlogging": ("道路或小区积水、下水道堵塞", "积水,内涝,防汛", "防汛防台"),
    "fall_risk": ("外墙脱落、空调外机松动、高空坠物隐患", "外墙,高坠,危房", "房屋安全"),
    "occupation": ("占道经营、违法搭建、乱堆物", "占道,违建,乱堆", "城管执法"),
    "other": ("以上类别之外的城市运行问题", "其他", "其他"),
}
