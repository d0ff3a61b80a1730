//! GEO commands (Redis's `geo.c`, `geohash.c` and `geohash_helper.c`).
//!
//! A geospatial index is a sorted set whose scores are 52-bit geohashes:
//! longitude and latitude, each scaled to 26 bits over Redis's ranges
//! (latitude only to ±85.05112878, the Web Mercator limit), interleaved.
//! Points near each other share a prefix, so a search turns into at most
//! nine score ranges (the geohash box around the centre and its eight
//! neighbours, at a precision chosen from the radius), each read in score
//! order and filtered by the exact distance.
//!
//! Everything here is computed as Redis computes it, in the same order of
//! floating-point operations, so positions, distances, hashes and the
//! order of unsorted results are byte for byte Redis's. GEORADIUS's STORE
//! and GEOSEARCHSTORE with the destination on another core run their
//! search on the source's core (`search_for_store`) and store through the
//! coordinator (`shard::collections`).

use super::errors::{NOT_FLOAT, NOT_INTEGER, SYNTAX};
use super::zsets::{self, parse_score};
use super::{parse_int, typed_value, Db};
use crate::keyspace::{Value, ZSet};
use crate::protocol::{Arg, Reply};
use bytes::Bytes;

const STEP_MAX: u8 = 26;
const LAT_MIN: f64 = -85.05112878;
const LAT_MAX: f64 = 85.05112878;
const LONG_MIN: f64 = -180.0;
const LONG_MAX: f64 = 180.0;
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

// ---------------------------------------------------------------------------
// Geohashes
// ---------------------------------------------------------------------------

/// A geohash of `step` bits per coordinate. All zero means "none" (a
/// neighbour dropped from a search).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Hash {
    bits: u64,
    step: u8,
}

impl Hash {
    fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The hash as a 52-bit score prefix.
    fn align52(&self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Range {
    min: f64,
    max: f64,
}

impl Range {
    fn is_zero(&self) -> bool {
        self.min == 0.0 && self.max == 0.0
    }
}

const LONG_RANGE: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// The box a hash stands for.
#[derive(Debug, Clone, Copy, Default)]
struct Area {
    longitude: Range,
    latitude: Range,
}

/// Interleaves the bits of `x` (even positions) and `y` (odd ones).
fn interleave(x: u32, y: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (u64::from(x), u64::from(y));
    for n in (0..5).rev() {
        x = (x | (x << S[n])) & B[n];
        y = (y | (y << S[n])) & B[n];
    }
    x | (y << 1)
}

/// The inverse of `interleave`: even bits in the low half, odd bits in
/// the high half.
fn deinterleave(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let (mut x, mut y) = (interleaved, interleaved >> 1);
    for n in 0..6 {
        x = (x | (x >> S[n])) & B[n];
        y = (y | (y >> S[n])) & B[n];
    }
    x | (y << 32)
}

/// geohashEncode: None outside the ranges (or Redis's own limits).
fn encode(
    long_range: Range,
    lat_range: Range,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<Hash> {
    if step > 32 || step == 0 || lat_range.is_zero() || long_range.is_zero() {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < lat_range.min
        || latitude > lat_range.max
        || longitude < long_range.min
        || longitude > long_range.max
    {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min) * scale;
    let long_offset = (longitude - long_range.min) / (long_range.max - long_range.min) * scale;
    Some(Hash {
        bits: interleave(lat_offset as u32, long_offset as u32),
        step,
    })
}

fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<Hash> {
    encode(LONG_RANGE, LAT_RANGE, longitude, latitude, step)
}

/// geohashDecode: the area of `hash`; None for the zero hash.
fn decode(long_range: Range, lat_range: Range, hash: Hash) -> Option<Area> {
    if hash.is_zero() || lat_range.is_zero() || long_range.is_zero() {
        return None;
    }
    let separated = deinterleave(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = separated as u32;
    let ilono = (separated >> 32) as u32;
    let cells = (1u64 << hash.step) as f64;
    Some(Area {
        latitude: Range {
            min: lat_range.min + (f64::from(ilato) * 1.0 / cells) * lat_scale,
            max: lat_range.min + ((f64::from(ilato) + 1.0) * 1.0 / cells) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (f64::from(ilono) * 1.0 / cells) * long_scale,
            max: long_range.min + ((f64::from(ilono) + 1.0) * 1.0 / cells) * long_scale,
        },
    })
}

/// The centre of `area`, clamped to the valid ranges: [longitude, latitude].
fn area_centre(area: &Area) -> [f64; 2] {
    let longitude = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let latitude = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [longitude, latitude]
}

/// C's conversion of a double to uint64_t as gcc compiles it for x86-64:
/// `cvttsd2si` below 2^63, else of the value less 2^63 with the top bit
/// flipped. `cvttsd2si` gives i64::MIN for what it cannot convert, so a
/// negative score wraps (-1 is all ones) and a huge one comes to 0, where
/// Rust's `as` would saturate. Scores GEOADD writes are never either;
/// ZADD can write any.
fn score_bits(score: f64) -> u64 {
    const TWO_63: f64 = 9223372036854775808.0;
    let cvttsd2si = |x: f64| {
        if x.is_nan() || !(-TWO_63..TWO_63).contains(&x) {
            i64::MIN
        } else {
            x as i64
        }
    };
    if score < TWO_63 {
        cvttsd2si(score) as u64
    } else {
        (cvttsd2si(score - TWO_63) as u64) ^ (1 << 63)
    }
}

/// The position a sorted-set score stands for (Redis's decodeGeohash).
fn decode_score(score: f64) -> Option<[f64; 2]> {
    let hash = Hash {
        bits: score_bits(score),
        step: STEP_MAX,
    };
    decode(LONG_RANGE, LAT_RANGE, hash).map(|area| area_centre(&area))
}

/// The score GEOADD gives a position.
fn score_of(longitude: f64, latitude: f64) -> f64 {
    encode_wgs84(longitude, latitude, STEP_MAX).map_or(0, |hash| hash.align52()) as f64
}

fn move_x(hash: &mut Hash, d: i8) {
    // A zero-step hash (none) has no cell to move to; its shift below
    // would be the word's width.
    if d == 0 || hash.step == 0 {
        return;
    }
    let mut x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let y = hash.bits & 0x5555555555555555;
    let shift = 64 - u32::from(hash.step) * 2;
    let zz = 0x5555555555555555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaaaaaaaaaaaaaau64 >> shift;
    hash.bits = x | y;
}

fn move_y(hash: &mut Hash, d: i8) {
    if d == 0 || hash.step == 0 {
        return;
    }
    let x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = hash.bits & 0x5555555555555555;
    let shift = 64 - u32::from(hash.step) * 2;
    let zz = 0xaaaaaaaaaaaaaaaau64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555555555555555u64 >> shift;
    hash.bits = x | y;
}

/// The eight neighbours of a hash, in the order Redis searches them after
/// the centre: north, south, east, west, north-east, north-west,
/// south-east, south-west.
fn neighbours(hash: Hash) -> [Hash; 8] {
    let moved = |dx: i8, dy: i8| {
        let mut h = hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    [
        moved(0, 1),
        moved(0, -1),
        moved(1, 0),
        moved(-1, 0),
        moved(1, 1),
        moved(-1, 1),
        moved(1, -1),
        moved(-1, -1),
    ]
}

const NORTH: usize = 0;
const SOUTH: usize = 1;
const EAST: usize = 2;
const WEST: usize = 3;
const NORTH_EAST: usize = 4;
const NORTH_WEST: usize = 5;
const SOUTH_EAST: usize = 6;
const SOUTH_WEST: usize = 7;

// ---------------------------------------------------------------------------
// Distances and search areas
// ---------------------------------------------------------------------------

fn deg_rad(angle: f64) -> f64 {
    angle * D_R
}

fn rad_deg(angle: f64) -> f64 {
    angle / D_R
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// The haversine distance in meters (geohashGetDistance).
fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// A search's centre in radians, with its latitude's cosine, made once per
/// search: `distance_to` is `distance(centre, point)` operation for
/// operation (the same values: only the centre's share is not redone).
struct Centre {
    lon_r: f64,
    lat: f64,
    lat_r: f64,
    cos_lat: f64,
}

impl Centre {
    fn of(xy: [f64; 2]) -> Centre {
        let lat_r = deg_rad(xy[1]);
        Centre {
            lon_r: deg_rad(xy[0]),
            lat: xy[1],
            lat_r,
            cos_lat: lat_r.cos(),
        }
    }

    fn distance_to(&self, xy: [f64; 2]) -> f64 {
        let v = ((deg_rad(xy[0]) - self.lon_r) / 2.0).sin();
        if v == 0.0 {
            return lat_distance(self.lat, xy[1]);
        }
        let lat2r = deg_rad(xy[1]);
        let u = ((lat2r - self.lat_r) / 2.0).sin();
        let a = u * u + self.cos_lat * lat2r.cos() * v * v;
        2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
    }
}

/// `distance(lon1, lat, lon2, lat)`: both points on one parallel, so the
/// latitude's cosine is taken once (cos(x) * cos(x), the same value).
fn parallel_distance(lon1: f64, lat: f64, lon2: f64) -> f64 {
    let v = ((deg_rad(lon2) - deg_rad(lon1)) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat, lat);
    }
    // `distance`'s u is sin(0) = 0 here, and 0 + x is x.
    let cos_lat = deg_rad(lat).cos();
    let a = cos_lat * cos_lat * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

#[derive(Debug, Clone, Copy)]
enum Extent {
    /// BYRADIUS (and GEORADIUS): a radius in the unit.
    Radius(f64),
    /// BYBOX: width and height in the unit.
    Box { width: f64, height: f64 },
}

/// What a search covers: a centre, an extent, and meters per unit.
#[derive(Debug, Clone, Copy)]
struct Shape {
    xy: [f64; 2],
    extent: Extent,
    conversion: f64,
}

impl Shape {
    /// [min longitude, min latitude, max longitude, max latitude]
    /// (geohashBoundingBox).
    fn bounds(&self) -> [f64; 4] {
        let (longitude, latitude) = (self.xy[0], self.xy[1]);
        let (height, width) = match self.extent {
            Extent::Radius(radius) => (self.conversion * radius, self.conversion * radius),
            Extent::Box { width, height } => (
                self.conversion * (height / 2.0),
                self.conversion * (width / 2.0),
            ),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
        let long_delta_bottom =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
        let southern = latitude < 0.0;
        let long_delta = if southern {
            long_delta_bottom
        } else {
            long_delta_top
        };
        [
            longitude - long_delta,
            latitude - lat_delta,
            longitude + long_delta,
            latitude + lat_delta,
        ]
    }

    /// The distance from the centre to a point when the point is inside
    /// the shape (geoWithinShape).
    /// `centre` is `Centre::of(self.xy)`, made once per search.
    fn contains(&self, centre: &Centre, xy: [f64; 2]) -> Option<f64> {
        match self.extent {
            Extent::Radius(radius) => {
                let radius_m = radius * self.conversion;
                // The distance along the meridian is a lower bound of the
                // great-circle distance: far enough past the radius (a
                // margin well above both computations' rounding), the
                // point is out whatever the exact figure, and its
                // trigonometry is saved (most of a search's time).
                if lat_distance(self.xy[1], xy[1]) > radius_m * (1.0 + 1e-9) {
                    return None;
                }
                let d = centre.distance_to(xy);
                (d <= radius_m).then_some(d)
            }
            Extent::Box { width, height } => {
                let (width_m, height_m) = (width * self.conversion, height * self.conversion);
                if lat_distance(self.xy[1], xy[1]) > height_m / 2.0 {
                    return None;
                }
                // Longitude's distance along the point's own parallel.
                if parallel_distance(xy[0], xy[1], self.xy[0]) > width_m / 2.0 {
                    return None;
                }
                Some(centre.distance_to(xy))
            }
        }
    }
}

/// geohashEstimateStepsByRadius.
fn estimate_steps(mut range_meters: f64, latitude: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&latitude) {
        step -= 1;
        if !(-80.0..=80.0).contains(&latitude) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// The boxes to search, centre first (geohashCalculateAreasByShapeWGS84):
/// the centre's hash at a step that covers the shape with its
/// neighbours, and the neighbours, those that cannot hold a match zeroed.
fn search_boxes(shape: &Shape) -> [Hash; 9] {
    let [min_lon, min_lat, max_lon, max_lat] = shape.bounds();
    let (longitude, latitude) = (shape.xy[0], shape.xy[1]);
    let radius_meters = match shape.extent {
        Extent::Radius(radius) => radius,
        Extent::Box { width, height } => {
            ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
        }
    } * shape.conversion;
    let mut steps = estimate_steps(radius_meters, latitude);
    let at = |steps: u8| {
        let hash = encode(LONG_RANGE, LAT_RANGE, longitude, latitude, steps).unwrap_or_default();
        let area = decode(LONG_RANGE, LAT_RANGE, hash).unwrap_or_default();
        (hash, neighbours(hash), area)
    };
    let (mut hash, mut around, mut area) = at(steps);
    let of = |h: Hash| decode(LONG_RANGE, LAT_RANGE, h).unwrap_or_default();
    let decrease = of(around[NORTH]).latitude.max < max_lat
        || of(around[SOUTH]).latitude.min > min_lat
        || of(around[EAST]).longitude.max < max_lon
        || of(around[WEST]).longitude.min > min_lon;
    if steps > 1 && decrease {
        steps -= 1;
        (hash, around, area) = at(steps);
    }
    if steps >= 2 {
        let mut clear = |sides: [usize; 3]| {
            for side in sides {
                around[side] = Hash::default();
            }
        };
        if area.latitude.min < min_lat {
            clear([SOUTH, SOUTH_WEST, SOUTH_EAST]);
        }
        if area.latitude.max > max_lat {
            clear([NORTH, NORTH_EAST, NORTH_WEST]);
        }
        if area.longitude.min < min_lon {
            clear([WEST, SOUTH_WEST, NORTH_WEST]);
        }
        if area.longitude.max > max_lon {
            clear([EAST, SOUTH_EAST, NORTH_EAST]);
        }
    }
    let mut boxes = [hash; 9];
    boxes[1..].copy_from_slice(&around);
    boxes
}

/// One match of a search.
#[derive(Debug, Clone)]
struct Point {
    member: Bytes,
    xy: [f64; 2],
    dist: f64,
    score: f64,
}

/// The members inside `shape`, box by box, each box in score order
/// (membersOfAllNeighbors). With `limit` (COUNT ... ANY) it stops once
/// that many are found.
fn points_in(zset: &ZSet, shape: &Shape, limit: usize) -> Vec<Point> {
    let boxes = search_boxes(shape);
    let centre = Centre::of(shape.xy);
    let mut found = Vec::new();
    let mut last_processed = 0;
    for (i, hash) in boxes.iter().enumerate() {
        if hash.is_zero() {
            continue;
        }
        // Huge radii make neighbours repeat; Redis skips a box equal to
        // the last one searched (never comparing with the centre, index 0).
        if last_processed != 0 && *hash == boxes[last_processed] {
            continue;
        }
        if !found.is_empty() && limit != 0 && found.len() >= limit {
            break;
        }
        let min = hash.align52() as f64;
        let max = Hash {
            bits: hash.bits + 1,
            step: hash.step,
        }
        .align52() as f64;
        zset.for_each_in(min, max, |member, score| {
            if let Some(xy) = decode_score(score) {
                if let Some(dist) = shape.contains(&centre, xy) {
                    found.push(Point {
                        member: Bytes::copy_from_slice(member),
                        xy,
                        dist,
                        score,
                    });
                }
            }
            found.is_empty() || limit == 0 || found.len() < limit
        });
        last_processed = i;
    }
    found
}

// ---------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------

/// A distance as Redis writes it: rounded to 4 decimals
/// (fixedpoint_d2string).
fn distance_text(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".to_string();
    }
    let scaled = (d * 10000.0).round_ties_even() as i64;
    let sign = if scaled < 0 { "-" } else { "" };
    let magnitude = scaled.unsigned_abs();
    format!("{sign}{}.{:04}", magnitude / 10000, magnitude % 10000)
}

fn distance_reply(d: f64) -> Reply {
    Reply::bulk(distance_text(d))
}

fn coordinates_reply(xy: [f64; 2]) -> Reply {
    Reply::Array(vec![Reply::HumanDouble(xy[0]), Reply::HumanDouble(xy[1])])
}

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------

fn parse_double(arg: &[u8], error: &'static str) -> Result<f64, Reply> {
    parse_score(arg).ok_or(Reply::error(error))
}

/// A longitude and latitude, checked against the indexable ranges
/// (extractLongLatOrReply).
fn parse_position(longitude: &[u8], latitude: &[u8]) -> Result<[f64; 2], Reply> {
    let xy = [
        parse_double(longitude, NOT_FLOAT)?,
        parse_double(latitude, NOT_FLOAT)?,
    ];
    if !(LONG_MIN..=LONG_MAX).contains(&xy[0]) || !(LAT_MIN..=LAT_MAX).contains(&xy[1]) {
        return Err(Reply::error_owned(format!(
            "ERR invalid longitude,latitude pair {:.6},{:.6}",
            xy[0], xy[1]
        )));
    }
    Ok(xy)
}

/// Meters per unit (extractUnitOrReply).
fn parse_unit(unit: &[u8]) -> Result<f64, Reply> {
    match unit.to_ascii_lowercase().as_slice() {
        b"m" => Ok(1.0),
        b"km" => Ok(1000.0),
        b"ft" => Ok(0.3048),
        b"mi" => Ok(1609.34),
        _ => Err(Reply::error(
            "ERR unsupported unit provided. please use M, KM, FT, MI",
        )),
    }
}

/// A radius and its unit: (radius, meters per unit).
fn parse_radius(radius: &[u8], unit: &[u8]) -> Result<(f64, f64), Reply> {
    let radius = parse_double(radius, "ERR need numeric radius")?;
    if radius < 0.0 {
        return Err(Reply::error("ERR radius cannot be negative"));
    }
    Ok((radius, parse_unit(unit)?))
}

/// A box's width, height and unit: (width, height, meters per unit).
fn parse_box(width: &[u8], height: &[u8], unit: &[u8]) -> Result<(f64, f64, f64), Reply> {
    let width = parse_double(width, "ERR need numeric width")?;
    let height = parse_double(height, "ERR need numeric height")?;
    if height < 0.0 || width < 0.0 {
        return Err(Reply::error("ERR height or width cannot be negative"));
    }
    Ok((width, height, parse_unit(unit)?))
}

fn read_zset<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut ZSet>, Reply> {
    typed_value(db, key, false, |value| match value {
        Value::ZSet(zset) => Some(zset),
        _ => None,
    })
}

fn position_of(zset: &ZSet, member: &[u8]) -> Option<[f64; 2]> {
    zset.score(member).and_then(decode_score)
}

// ---------------------------------------------------------------------------
// GEOADD, GEOPOS, GEOHASH, GEODIST
// ---------------------------------------------------------------------------

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]: ZADD with
/// each position's geohash as the score.
pub fn geoadd(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let (mut nx, mut xx, mut ch) = (false, false, false);
    let mut first = 2;
    while first < argv.len() {
        match argv[first].to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"ch" => ch = true,
            _ => break,
        }
        first += 1;
    }
    if !(argv.len() - first).is_multiple_of(3) || (xx && nx) {
        return Reply::error(SYNTAX);
    }
    let mut pairs = Vec::with_capacity((argv.len() - first) / 3);
    for triple in argv[first..].chunks_exact(3) {
        let xy = match parse_position(&triple[0], &triple[1]) {
            Ok(xy) => xy,
            Err(reply) => return reply,
        };
        pairs.push((score_of(xy[0], xy[1]), triple[2].as_bytes()));
    }
    zsets::add_parsed(db, &argv[1], zsets::AddOptions { nx, xx, ch }, pairs)
}

/// GEOPOS and GEOHASH: for each member after the key, `found` of its
/// position, or `missing` when the key or the member is not there.
fn per_member(
    db: &mut Db,
    argv: &[Arg<'_>],
    missing: Reply,
    found: impl Fn([f64; 2]) -> Reply,
) -> Reply {
    let zset = match read_zset(db, &argv[1]) {
        Ok(zset) => zset,
        Err(reply) => return reply,
    };
    Reply::Array(
        argv[2..]
            .iter()
            .map(|member| {
                zset.as_ref()
                    .and_then(|z| position_of(z, member))
                    .map_or_else(|| missing.clone(), &found)
            })
            .collect(),
    )
}

/// GEOPOS key [member ...].
pub fn geopos(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    per_member(db, argv, Reply::NilArray, coordinates_reply)
}

/// GEOHASH key [member ...]: standard 11-character geohashes, re-encoded
/// over latitude ±90 from the stored position.
pub fn geohash(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    const LONGITUDE: Range = Range {
        min: -180.0,
        max: 180.0,
    };
    const LATITUDE: Range = Range {
        min: -90.0,
        max: 90.0,
    };
    per_member(db, argv, Reply::Nil, |xy| {
        let bits = encode(LONGITUDE, LATITUDE, xy[0], xy[1], 26).map_or(0, |h| h.bits);
        let text: Vec<u8> = (0..11)
            .map(|i| {
                // 52 bits make ten characters; the eleventh is "0".
                let index = if i == 10 {
                    0
                } else {
                    (bits >> (52 - (i + 1) * 5)) & 0x1f
                };
                ALPHABET[index as usize]
            })
            .collect();
        Reply::Bulk(Bytes::from(text))
    })
}

/// GEODIST key member1 member2 [M|KM|FT|MI].
pub fn geodist(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let to_meter = match argv.len() {
        4 => 1.0,
        5 => match parse_unit(&argv[4]) {
            Ok(unit) => unit,
            Err(reply) => return reply,
        },
        _ => return Reply::error(SYNTAX),
    };
    let zset = match read_zset(db, &argv[1]) {
        Ok(Some(zset)) => zset,
        Ok(None) => return Reply::Nil,
        Err(reply) => return reply,
    };
    match (position_of(zset, &argv[2]), position_of(zset, &argv[3])) {
        (Some(a), Some(b)) => distance_reply(distance(a[0], a[1], b[0], b[1]) / to_meter),
        _ => Reply::Nil,
    }
}

// ---------------------------------------------------------------------------
// GEORADIUS, GEORADIUSBYMEMBER, their _RO forms, GEOSEARCH, GEOSEARCHSTORE
// ---------------------------------------------------------------------------

/// Which search command (Redis's georadiusGeneric flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// GEORADIUS, GEORADIUS_RO (`store`: STORE and STOREDIST allowed).
    Radius { store: bool },
    /// GEORADIUSBYMEMBER and its _RO form.
    ByMember { store: bool },
    /// GEOSEARCH, GEOSEARCHSTORE (`store`).
    Search { store: bool },
}

impl Variant {
    fn of(name: &[u8]) -> Option<Variant> {
        Some(match name.to_ascii_lowercase().as_slice() {
            b"georadius" => Variant::Radius { store: true },
            b"georadius_ro" => Variant::Radius { store: false },
            b"georadiusbymember" => Variant::ByMember { store: true },
            b"georadiusbymember_ro" => Variant::ByMember { store: false },
            b"geosearch" => Variant::Search { store: false },
            b"geosearchstore" => Variant::Search { store: true },
            _ => return None,
        })
    }

    fn source_index(&self) -> usize {
        match self {
            Variant::Search { store: true } => 2,
            _ => 1,
        }
    }

    /// Where the options begin.
    fn options_index(&self) -> usize {
        match self {
            Variant::Radius { .. } => 6,
            Variant::ByMember { .. } => 5,
            Variant::Search { store } => 2 + usize::from(*store),
        }
    }

    fn is_search(&self) -> bool {
        matches!(self, Variant::Search { .. })
    }

    /// GEORADIUS and GEORADIUSBYMEMBER (not _RO) take STORE and STOREDIST.
    fn takes_store_option(&self) -> bool {
        matches!(
            self,
            Variant::Radius { store: true } | Variant::ByMember { store: true }
        )
    }
}

/// The destination GEORADIUS or GEORADIUSBYMEMBER writes to: the key
/// after the last STORE or STOREDIST, found by walking the options as the
/// command parses them (so it is the key the command writes, which
/// routing must send it to). `options` is where the options begin.
pub fn store_key_position(argv: &[Arg<'_>], options: usize) -> Option<usize> {
    let mut store = None;
    let mut i = options;
    while i < argv.len() {
        let word = argv[i].to_ascii_lowercase();
        let has_value = i + 1 < argv.len();
        match word.as_slice() {
            b"withdist" | b"withhash" | b"withcoord" | b"any" | b"asc" | b"desc" => {}
            b"count" if has_value => i += 1,
            b"store" | b"storedist" if has_value => {
                store = Some(i + 1);
                i += 1;
            }
            _ => break,
        }
        i += 1;
    }
    store
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// What a search command asked for, parsed.
struct Search {
    shape: Shape,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    sort: Sort,
    any: bool,
    count: usize,
    /// The destination's argument index, for STORE, STOREDIST and
    /// GEOSEARCHSTORE; and whether scores become distances.
    store: Option<usize>,
    storedist: bool,
}

/// What a search command comes to.
enum Outcome {
    /// A reply for the client (results or an error).
    Reply(Reply),
    /// Entries to store at `argv[key]` (none: delete it).
    Store {
        key: usize,
        entries: Vec<(Bytes, f64)>,
    },
}

/// Parses a search command as Redis's georadiusGeneric does, in its order
/// of checks (so the same bad command gets the same error). `zset` is the
/// source, already type-checked.
fn parse_search(variant: Variant, zset: Option<&ZSet>, argv: &[Arg<'_>]) -> Result<Search, Reply> {
    let mut xy = [0.0; 2];
    let mut extent = Extent::Radius(0.0);
    let mut conversion = 0.0;
    match variant {
        Variant::Radius { .. } => {
            xy = parse_position(&argv[2], &argv[3])?;
            let (radius, unit) = parse_radius(&argv[4], &argv[5])?;
            (extent, conversion) = (Extent::Radius(radius), unit);
        }
        Variant::ByMember { .. } => {
            if let Some(zset) = zset {
                xy = position_of(zset, &argv[2])
                    .ok_or(Reply::error("ERR could not decode requested zset member"))?;
                let (radius, unit) = parse_radius(&argv[3], &argv[4])?;
                (extent, conversion) = (Extent::Radius(radius), unit);
            }
        }
        Variant::Search { .. } => {}
    }
    let base = variant.options_index();
    let mut search = Search {
        shape: Shape {
            xy,
            extent,
            conversion,
        },
        withdist: false,
        withhash: false,
        withcoord: false,
        sort: Sort::None,
        any: false,
        count: 0,
        store: matches!(variant, Variant::Search { store: true }).then_some(1),
        storedist: false,
    };
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let remaining = argv.len().saturating_sub(base);
    let mut i = 0;
    while i < remaining {
        let at = base + i;
        let word = argv[at].to_ascii_lowercase();
        let search_only = variant.is_search();
        match word.as_slice() {
            b"withdist" => search.withdist = true,
            b"withhash" => search.withhash = true,
            b"withcoord" => search.withcoord = true,
            b"any" => search.any = true,
            b"asc" => search.sort = Sort::Asc,
            b"desc" => search.sort = Sort::Desc,
            b"count" if i + 1 < remaining => {
                let count = parse_int(&argv[at + 1]).ok_or(Reply::error(NOT_INTEGER))?;
                if count <= 0 {
                    return Err(Reply::error("ERR COUNT must be > 0"));
                }
                search.count = count as usize;
                i += 1;
            }
            b"store" | b"storedist" if i + 1 < remaining && variant.takes_store_option() => {
                search.store = Some(at + 1);
                search.storedist = word == b"storedist";
                i += 1;
            }
            b"storedist" if variant == (Variant::Search { store: true }) => {
                search.storedist = true;
            }
            b"frommember" if i + 1 < remaining && search_only && !fromloc => {
                if let Some(zset) = zset {
                    search.shape.xy = position_of(zset, &argv[at + 1])
                        .ok_or(Reply::error("ERR could not decode requested zset member"))?;
                }
                frommember = true;
                i += 1;
            }
            b"fromlonlat" if i + 2 < remaining && search_only && !frommember => {
                search.shape.xy = parse_position(&argv[at + 1], &argv[at + 2])?;
                fromloc = true;
                i += 2;
            }
            b"byradius" if i + 2 < remaining && search_only && !bybox => {
                let (radius, unit) = parse_radius(&argv[at + 1], &argv[at + 2])?;
                search.shape.extent = Extent::Radius(radius);
                search.shape.conversion = unit;
                byradius = true;
                i += 2;
            }
            b"bybox" if i + 3 < remaining && search_only && !byradius => {
                let (width, height, unit) = parse_box(&argv[at + 1], &argv[at + 2], &argv[at + 3])?;
                search.shape.extent = Extent::Box { width, height };
                search.shape.conversion = unit;
                bybox = true;
                i += 3;
            }
            _ => return Err(Reply::error(SYNTAX)),
        }
        i += 1;
    }
    if search.store.is_some() && (search.withdist || search.withhash || search.withcoord) {
        let what = if variant == (Variant::Search { store: true }) {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(Reply::error_owned(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = String::from_utf8_lossy(&argv[0]);
    if variant.is_search() && !(frommember || fromloc) {
        return Err(Reply::error_owned(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if variant.is_search() && !(byradius || bybox) {
        return Err(Reply::error_owned(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if search.any && search.count == 0 {
        return Err(Reply::error("ERR the ANY argument requires COUNT argument"));
    }
    Ok(search)
}

/// The search itself (the rest of georadiusGeneric).
fn run_search(variant: Variant, zset: Option<&ZSet>, argv: &[Arg<'_>]) -> Outcome {
    let mut search = match parse_search(variant, zset, argv) {
        Err(reply) => return Outcome::Reply(reply),
        Ok(search) => search,
    };
    let Some(zset) = zset else {
        // No source key: STORE empties the destination, a query finds
        // nothing.
        return match search.store {
            Some(key) => Outcome::Store {
                key,
                entries: Vec::new(),
            },
            None => Outcome::Reply(Reply::Array(Vec::new())),
        };
    };
    if search.count != 0 && search.sort == Sort::None && !search.any {
        search.sort = Sort::Asc;
    }
    let limit = if search.any { search.count } else { 0 };
    let mut points = points_in(zset, &search.shape, limit);
    let returned = if search.count == 0 {
        points.len()
    } else {
        points.len().min(search.count)
    };
    if search.sort != Sort::None {
        let descending = search.sort == Sort::Desc;
        let order = |a: &Point, b: &Point| {
            let order = a
                .dist
                .partial_cmp(&b.dist)
                .unwrap_or(std::cmp::Ordering::Equal);
            if descending {
                order.reverse()
            } else {
                order
            }
        };
        if returned == points.len() {
            // glibc's qsort, a merge sort: stable.
            points.sort_by(order);
        } else if returned > 0 {
            partial_quicksort(&mut points, &order, 0, returned - 1);
        }
    }
    points.truncate(returned);
    let conversion = search.shape.conversion;
    if let Some(key) = search.store {
        let entries = points
            .into_iter()
            .map(|point| {
                let dist = point.dist / conversion;
                let score = if search.storedist { dist } else { point.score };
                (point.member, score)
            })
            .collect();
        return Outcome::Store { key, entries };
    }
    let options =
        usize::from(search.withdist) + usize::from(search.withhash) + usize::from(search.withcoord);
    Outcome::Reply(Reply::Array(
        points
            .into_iter()
            .map(|point| {
                if options == 0 {
                    return Reply::Bulk(point.member);
                }
                let mut item = Vec::with_capacity(options + 1);
                item.push(Reply::Bulk(point.member));
                if search.withdist {
                    item.push(distance_reply(point.dist / conversion));
                }
                if search.withhash {
                    item.push(Reply::Int(point.score as i64));
                }
                if search.withcoord {
                    item.push(coordinates_reply(point.xy));
                }
                Reply::Array(item)
            })
            .collect(),
    ))
}

/// Redis's pqsort: a quicksort that only sorts what can land in
/// `[left, right]` (COUNT's first results), the rest left unordered.
/// Equal distances come out in the order this particular quicksort leaves
/// them, which is what Redis replies, so it is followed step by step
/// rather than replaced by a library sort.
fn partial_quicksort<T>(
    items: &mut [T],
    cmp: &impl Fn(&T, &T) -> std::cmp::Ordering,
    left: usize,
    right: usize,
) {
    let n = items.len();
    pqsort(items, cmp, 0, n, left, right);
}

/// `partial_quicksort` of `items[base..base + n]`; `left` and `right` are
/// indexes of the whole slice, as pqsort's pointers are.
fn pqsort<T>(
    items: &mut [T],
    cmp: &impl Fn(&T, &T) -> std::cmp::Ordering,
    mut base: usize,
    mut n: usize,
    left: usize,
    right: usize,
) {
    use std::cmp::Ordering::{Greater, Less};
    loop {
        let a = &mut items[base..base + n];
        if n < 7 {
            for m in 1..n {
                let mut l = m;
                while l > 0 && cmp(&a[l - 1], &a[l]) == Greater {
                    a.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        let med3 = |a: &[T], x: usize, y: usize, z: usize| {
            if cmp(&a[x], &a[y]) == Less {
                if cmp(&a[y], &a[z]) == Less {
                    y
                } else if cmp(&a[x], &a[z]) == Less {
                    z
                } else {
                    x
                }
            } else if cmp(&a[y], &a[z]) == Greater {
                y
            } else if cmp(&a[x], &a[z]) == Less {
                x
            } else {
                z
            }
        };
        let mut pm = n / 2;
        if n > 7 {
            let mut pl = 0;
            let mut pn = n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(a, pl, pl + d, pl + 2 * d);
                pm = med3(a, pm - d, pm, pm + d);
                pn = med3(a, pn - 2 * d, pn - d, pn);
            }
            pm = med3(a, pl, pm, pn);
        }
        a.swap(0, pm);
        // pb only grows from 1 and pc only shrinks while pb <= pc, so pc
        // never goes below pb - 1 >= 0.
        let (mut pa, mut pb) = (1usize, 1usize);
        let (mut pc, mut pd) = (n - 1, n - 1);
        loop {
            while pb <= pc {
                let order = cmp(&a[pb], &a[0]);
                if order == Greater {
                    break;
                }
                if order.is_eq() {
                    a.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let order = cmp(&a[pc], &a[0]);
                if order == Less {
                    break;
                }
                if order.is_eq() {
                    a.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            a.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let r = pa.min(pb - pa);
        for k in 0..r {
            a.swap(k, pb - r + k);
        }
        let r = (pd - pc).min(n - pd - 1);
        for k in 0..r {
            a.swap(pb + k, n - r + k);
        }
        // The lesser run at the front and the greater at the back, each
        // sorted only when it overlaps [left, right].
        let overlaps = |start: usize, len: usize| {
            let (l, r) = (base + start, base + start + len - 1);
            !((left < l && right < l) || (left > r && right > r))
        };
        let lesser = pb - pa;
        let greater = pd - pc;
        if lesser > 1 && overlaps(0, lesser) {
            pqsort(items, cmp, base, lesser, left, right);
        }
        if greater > 1 && overlaps(n - greater, greater) {
            base += n - greater;
            n = greater;
            continue;
        }
        return;
    }
}

/// A search command over its source key (WRONGTYPE when it is no sorted
/// set).
fn search(db: &mut Db, argv: &[Arg<'_>], variant: Variant) -> Outcome {
    match read_zset(db, &argv[variant.source_index()]) {
        Ok(zset) => run_search(variant, zset.map(|z| &*z), argv),
        Err(reply) => Outcome::Reply(reply),
    }
}

fn search_command(db: &mut Db, argv: &[Arg<'_>], variant: Variant) -> Reply {
    match search(db, argv, variant) {
        Outcome::Reply(reply) => reply,
        Outcome::Store { key, entries } => Reply::Int(zsets::store(
            db,
            &argv[key],
            entries,
            zsets::Build::AllAtOnce,
        )),
    }
}

pub fn georadius(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    search_command(db, argv, Variant::Radius { store: true })
}

pub fn georadius_ro(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    search_command(db, argv, Variant::Radius { store: false })
}

pub fn georadiusbymember(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    search_command(db, argv, Variant::ByMember { store: true })
}

pub fn georadiusbymember_ro(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    search_command(db, argv, Variant::ByMember { store: false })
}

pub fn geosearch(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    search_command(db, argv, Variant::Search { store: false })
}

pub fn geosearchstore(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    search_command(db, argv, Variant::Search { store: true })
}

/// The search of a storing GEORADIUS, GEORADIUSBYMEMBER or GEOSEARCHSTORE
/// whose destination lives on another core, run on the source's core:
/// the entries to store as (member, score) pairs, or the command's error
/// or reply when it stores nothing.
pub fn search_for_store(db: &mut Db, argv: &[Arg<'_>]) -> Reply {
    let Some(variant) = Variant::of(&argv[0]) else {
        return Reply::error(SYNTAX);
    };
    match search(db, argv, variant) {
        Outcome::Reply(reply) => reply,
        Outcome::Store { entries, .. } => Reply::Pairs(
            entries
                .into_iter()
                .map(|(member, score)| (Reply::Bulk(member), Reply::Double(score)))
                .collect(),
        ),
    }
}

/// Entries from `search_for_store`'s reply; Err with the reply to give
/// the client otherwise.
pub fn entries_from_reply(reply: Reply) -> Result<Vec<(Bytes, f64)>, Reply> {
    match reply {
        Reply::Pairs(pairs) => Ok(pairs
            .into_iter()
            .filter_map(|pair| match pair {
                (Reply::Bulk(member), Reply::Double(score)) => Some((member, score)),
                _ => None,
            })
            .collect()),
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaving_round_trips() {
        for (x, y) in [
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (0xffff_ffff, 0),
            (12345, 67890),
        ] {
            let bits = interleave(x, y);
            let back = deinterleave(bits);
            assert_eq!((back as u32, (back >> 32) as u32), (x, y));
        }
    }

    /// Palermo's score and position, as redis-server 7.0 gives them
    /// (ZSCORE and GEOPOS after `GEOADD Sicily 13.361389 38.115556
    /// Palermo`).
    #[test]
    fn scores_and_positions_are_redis_s() {
        assert_eq!(score_of(13.361389, 38.115556), 3479099956230698.0);
        let xy = decode_score(3479099956230698.0).unwrap();
        assert_eq!(
            crate::command::strings::human_long_double(xy[0]),
            "13.36138933897018433"
        );
        assert_eq!(
            crate::command::strings::human_long_double(xy[1]),
            "38.11555639549629859"
        );
    }

    /// The per-search shortcuts compute `distance`'s very values.
    #[test]
    fn centre_and_parallel_distances_equal_distance() {
        let mut state = 99u64;
        let mut next = |span: f64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * span
        };
        for _ in 0..20_000 {
            let a = [next(360.0), next(170.0)];
            let b = [a[0] + next(2.0), (a[1] + next(2.0)).clamp(-85.0, 85.0)];
            for (c, p) in [(a, b), (a, a), (a, [a[0], b[1]]), (a, [b[0], a[1]])] {
                let exact = distance(c[0], c[1], p[0], p[1]);
                assert_eq!(Centre::of(c).distance_to(p).to_bits(), exact.to_bits());
                assert_eq!(
                    parallel_distance(p[0], p[1], c[0]).to_bits(),
                    distance(p[0], p[1], c[0], p[1]).to_bits()
                );
            }
        }
    }

    #[test]
    fn distances_print_with_four_decimals() {
        assert_eq!(distance_text(0.0), "0.0000");
        assert_eq!(distance_text(166_274.151_569_6), "166274.1516");
        assert_eq!(distance_text(0.00004), "0.0000");
        assert_eq!(distance_text(0.5), "0.5000");
        // 312.5 exactly: llrint rounds half to even.
        assert_eq!(distance_text(0.03125), "0.0312");
        assert_eq!(distance_text(0.09375), "0.0938");
    }

    #[test]
    fn store_key_is_the_last_store_option() {
        let argv = crate::protocol::arg::test_args;
        let words = [
            "GEORADIUS",
            "k",
            "1",
            "2",
            "3",
            "km",
            "STORE",
            "a",
            "STOREDIST",
            "b",
        ];
        assert_eq!(store_key_position(&argv(&words), 6), Some(9));
        let words = [
            "GEORADIUS",
            "k",
            "1",
            "2",
            "3",
            "km",
            "COUNT",
            "store",
            "asc",
        ];
        assert_eq!(store_key_position(&argv(&words), 6), None);
        let words = ["GEORADIUS", "k", "1", "2", "3", "km", "withdist", "store"];
        assert_eq!(store_key_position(&argv(&words), 6), None);
    }

    #[test]
    fn partial_quicksort_orders_the_requested_prefix() {
        let mut state = 12345u64;
        for n in [1usize, 5, 7, 8, 40, 41, 100, 500] {
            let mut items: Vec<u64> = (0..n)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (state >> 33) % 50
                })
                .collect();
            let mut sorted = items.clone();
            sorted.sort();
            let count = n.div_ceil(3);
            partial_quicksort(&mut items, &|a: &u64, b: &u64| a.cmp(b), 0, count - 1);
            assert_eq!(items[..count], sorted[..count], "n = {n}");
            items.sort();
            assert_eq!(items, sorted);
        }
    }
}
