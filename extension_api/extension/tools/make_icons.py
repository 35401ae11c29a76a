"""Draw the extension's icons (icons/icon-<size>.png): a white magnifying glass on a deep blue
rounded square (a look closer, not a tick: Verity gives a signal, never a seal of approval).
Drawn at 8x and scaled down, so the small sizes stay smooth.

    .venv/bin/python extension_api/extension/tools/make_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ICONS_DIR = Path(__file__).resolve().parents[1] / "icons"
SIZES = (16, 32, 48, 128)
BACKGROUND = (26, 54, 140, 255)
MARK = (255, 255, 255, 255)
SUPERSAMPLE = 8


def draw_icon(size: int) -> Image.Image:
    """The icon at `size` pixels square."""
    big = size * SUPERSAMPLE
    canvas = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.22, fill=BACKGROUND)
    stroke = big * 0.12
    centre, radius = (big * 0.43, big * 0.43), big * 0.22
    x, y = centre
    draw.ellipse(
        (x - radius, y - radius, x + radius, y + radius), outline=MARK, width=round(stroke)
    )
    handle_from = (x + radius * 0.72, y + radius * 0.72)
    handle_to = (big * 0.78, big * 0.78)
    draw.line([handle_from, handle_to], fill=MARK, width=round(stroke * 1.15))
    hx, hy = handle_to
    cap = stroke * 1.15 / 2
    draw.ellipse((hx - cap, hy - cap, hx + cap, hy + cap), fill=MARK)  # a rounded handle end
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    ICONS_DIR.mkdir(exist_ok=True)
    for size in SIZES:
        path = ICONS_DIR / f"icon-{size}.png"
        draw_icon(size).save(path, optimize=True)
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
