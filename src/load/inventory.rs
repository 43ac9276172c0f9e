pub fn load_inventory() {}
pub fn parse_inventory() {}
