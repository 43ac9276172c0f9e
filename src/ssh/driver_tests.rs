//! Framing and requests of the shared-session driver.

use super::*;

const B: &str = "fleet-0123456789abcdef0123456789abcdef";

#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    /// Output between frames; one entry per frame boundary, plus the
    /// output after the last frame.
    outputs: Vec<Vec<u8>>,
    frames: Vec<String>,
}

fn feed_in(pieces: &[&[u8]]) -> Result<Seen, BadFrame> {
    let mut framer = Framer::new(&Boundary::fixed(B));
    let mut seen = Seen {
        outputs: vec![Vec::new()],
        frames: Vec::new(),
    };
    for piece in pieces {
        framer.feed(piece, &mut |p| match p {
            Piece::Output(o) => {
                assert!(!o.is_empty(), "no empty output pieces");
                if let Some(last) = seen.outputs.last_mut() {
                    last.extend_from_slice(o);
                }
            }
            Piece::Frame(w) => {
                seen.frames.push(w.to_string());
                seen.outputs.push(Vec::new());
            }
        })?;
    }
    Ok(seen)
}

fn frame(word: &str) -> String {
    format!("\n{B} {word}\n")
}

/// Every split of `stream` into two and three pieces parses as the
/// whole does.
fn same_at_every_split(stream: &[u8]) -> Seen {
    let whole = feed_in(&[stream]).unwrap_or_else(|e| panic!("{e:?}"));
    for i in 0..=stream.len() {
        let (a, b) = stream.split_at(i);
        assert_eq!(feed_in(&[a, b]), Ok(whole_clone(&whole)), "split at {i}");
        for j in i..=stream.len() {
            let (b1, b2) = stream[i..].split_at(j - i);
            assert_eq!(feed_in(&[a, b1, b2]), Ok(whole_clone(&whole)), "{i}/{j}");
        }
    }
    whole
}

fn whole_clone(s: &Seen) -> Seen {
    Seen {
        outputs: s.outputs.clone(),
        frames: s.frames.clone(),
    }
}

#[test]
fn frames_split_output_and_keep_a_missing_final_newline() {
    let stream = format!(
        "login noise{}out 1\n{}no newline{}{}",
        frame("ready"),
        frame("0"),
        frame("3"),
        frame("127")
    );
    let seen = same_at_every_split(stream.as_bytes());
    assert_eq!(seen.frames, ["ready", "0", "3", "127"]);
    assert_eq!(
        seen.outputs,
        [
            b"login noise".to_vec(),
            b"out 1\n".to_vec(),
            b"no newline".to_vec(),
            Vec::new(),
            Vec::new()
        ]
    );
}

#[test]
fn near_misses_are_output() {
    // A newline, then the boundary without its space; a shorter
    // boundary; the boundary without the newline before it; another
    // boundary of the same length.
    let other = B.replace('0', "1");
    let stream = format!(
        "\n{B}x\n\n{}\n{B}\t\n{other} 0\n{B}{}",
        &B[..10],
        frame("0")
    );
    let seen = same_at_every_split(stream.as_bytes());
    assert_eq!(seen.frames, ["0"]);
    assert_eq!(
        seen.outputs[0],
        format!("\n{B}x\n\n{}\n{B}\t\n{other} 0\n{B}", &B[..10]).as_bytes()
    );
}

#[test]
fn a_stream_ending_inside_a_possible_marker_holds_it_back() {
    let mut framer = Framer::new(&Boundary::fixed(B));
    let mut out = Vec::new();
    let partial = format!("abc\n{}", &B[..5]);
    framer
        .feed(partial.as_bytes(), &mut |p| {
            if let Piece::Output(o) = p {
                out.extend_from_slice(o)
            }
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(out, b"abc");
    framer
        .feed(b"zz", &mut |p| {
            if let Piece::Output(o) = p {
                out.extend_from_slice(o)
            }
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(out, format!("abc\n{}zz", &B[..5]).as_bytes());
}

#[test]
fn a_frame_line_that_is_too_long_or_not_text_is_refused() {
    let long = format!("\n{B} {}\n", "9".repeat(MAX_FRAME_LINE + 1));
    assert_eq!(feed_in(&[long.as_bytes()]), Err(BadFrame));
    let mut split = format!("\n{B} ").into_bytes();
    split.extend_from_slice(&[b'9'; MAX_FRAME_LINE + 1]);
    assert_eq!(feed_in(&[&split[..], b"\n"]), Err(BadFrame));
    let bad = [format!("\n{B} ").as_bytes(), b"\xff\n"].concat();
    assert_eq!(feed_in(&[&bad]), Err(BadFrame));
    assert_eq!(feed_in(&[frame("").as_bytes()]), Err(BadFrame));
}

#[test]
fn huge_output_passes_through_without_being_held() {
    let mut framer = Framer::new(&Boundary::fixed(B));
    let chunk = vec![b'x'; 32 * 1024];
    let mut bytes = 0usize;
    for _ in 0..256 {
        framer
            .feed(&chunk, &mut |p| {
                if let Piece::Output(o) = p {
                    bytes += o.len()
                }
            })
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(framer.held.is_empty());
    }
    assert_eq!(bytes, 256 * 32 * 1024);
    let mut frames = Vec::new();
    framer
        .feed(frame("0").as_bytes(), &mut |p| {
            if let Piece::Frame(w) = p {
                frames.push(w.to_string())
            }
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(frames, ["0"]);
}

#[test]
fn binary_output_is_kept_byte_for_byte() {
    let mut stream = b"\x00\xff\r\n\x1b[2J\n\n".to_vec();
    stream.extend_from_slice(frame("0").as_bytes());
    let seen = same_at_every_split(&stream);
    assert_eq!(seen.outputs[0], b"\x00\xff\r\n\x1b[2J\n\n");
}

#[test]
fn requests_end_with_the_boundary_and_refuse_what_cannot_be_framed() {
    let b = Boundary::fixed(B);
    let d = Duration::from_millis(1500);
    let wire = request(&b, "echo a\necho b", Kind::Shell, d);
    assert_eq!(wire, Ok(format!("s 4\necho a\necho b\n{B}\n").into_bytes()));
    let wire = request(&b, "uptime", Kind::Plain, Duration::from_secs(30));
    assert_eq!(wire, Ok(format!("p 32\nuptime\n{B}\n").into_bytes()));
    let wire = request(&b, "x\n", Kind::Shell, d);
    assert_eq!(wire, Ok(format!("s 4\nx\n{B}\n").into_bytes()));
    assert_eq!(
        request(&b, &format!("echo {B}"), Kind::Shell, d),
        Err(Unsendable::Boundary)
    );
    assert_eq!(request(&b, "a\0b", Kind::Shell, d), Err(Unsendable::Nul));
}

#[test]
fn boundaries_are_random_and_not_shown() {
    let (Ok(a), Ok(b)) = (Boundary::random(), Boundary::random()) else {
        panic!("no randomness");
    };
    assert_ne!(a, b);
    assert_eq!(a.as_str().len(), "fleet-".len() + 32);
    assert!(!format!("{a:?}").contains(a.as_str()));
}

#[test]
fn the_script_has_no_single_quote() {
    assert!(!SCRIPT.contains('\''));
}
