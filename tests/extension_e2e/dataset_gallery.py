"""A web page of real pictures from the shared data sets, for the extension's end-to-end tests.

Clear cases on both sides: Stable Diffusion and StyleGAN / Midjourney pictures, CIFAR-10 and
web photos. Which band each picture ends in is not written here: it is what the platform's
model says (`judge_with_shipped_model`), so the tests hold for whichever ensemble ml/weights ships.

The bytes are read from the tar shards under `VERITY_DATA_DIR` at test time and served from
memory on 127.0.0.1; nothing is copied into the repository.
"""

from __future__ import annotations

import html
import io
import json
import tarfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from PIL import Image

from imaging.decode import decode_image
from tests.support import StaticServer

DISPLAY_SIDE = 200  # px on the page; every picture is larger than the extension's 64 px minimum


@dataclass(frozen=True)
class Picture:
    id: str  # the <img> id, and the file name on the site
    caption: str
    shard: str  # relative to the data dir
    member: str  # the file inside the tar shard
    # CIFAKE's 32 px pictures are doubled (nearest neighbour, PNG: lossless) to reach the 64 px
    # the extension needs; the small-image member's 32 px downscale gives back their own pixels.
    doubled: bool = False

    @property
    def path(self) -> str:
        return f"/pictures/{self.id}.{'png' if self.doubled else 'jpg'}"

    def read(self, data_dir: Path) -> bytes:
        with tarfile.open(data_dir / self.shard) as shard:
            extracted = shard.extractfile(self.member)
            assert extracted is not None, f"{self.member} is not a file in {self.shard}"
            data = extracted.read()
        return _doubled_png(data) if self.doubled else data


CIFAKE_FAKE, CIFAKE_REAL = "cifake/test-FAKE.tar", "cifake/test-REAL.tar"
FACES_FAKE, FACES_REAL = "faces/test-fake.tar", "faces/test-real.tar"
WILD_FAKE, WILD_REAL = "wild/wild-test-fake.tar", "wild/wild-test-real.tar"
ON_THE_PAGE = (
    Picture("sd-cifake-1", "Stable Diffusion (CIFAKE)", CIFAKE_FAKE, "test/FAKE/0 (4).jpg", True),
    Picture("sd-cifake-2", "Stable Diffusion (CIFAKE)", CIFAKE_FAKE, "test/FAKE/1 (7).jpg", True),
    Picture("cifar-1", "CIFAR-10 photo", CIFAKE_REAL, "test/REAL/0000 (10).jpg", True),
    Picture("cifar-2", "CIFAR-10 photo", CIFAKE_REAL, "test/REAL/0002 (2).jpg", True),
    Picture("stylegan-face", "StyleGAN face", FACES_FAKE, "test/fake/00F8LKY6JC.jpg"),
    Picture("ffhq-face", "FFHQ photo (Flickr)", FACES_REAL, "test/real/00142.jpg"),
    Picture("midjourney", "Midjourney portrait", WILD_FAKE, "test/fake/e64bf2904c0a3659.jpg"),
    Picture("web-photo", "Web photo (wild set)", WILD_REAL, "test/real/1013ecdc28780b9f.jpg"),
)
# Added by the page's "Load more" button, after the first pictures are judged.
LOADED_LATER = Picture(
    "sd-cifake-later", "Stable Diffusion (CIFAKE)", CIFAKE_FAKE, "test/FAKE/0 (8).jpg", True
)
ALL_PICTURES = (*ON_THE_PAGE, LOADED_LATER)
BY_ID = {picture.id: picture for picture in ALL_PICTURES}

PAGE_PATH = "/gallery.html"
PAGE_TEMPLATE = Template("""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Pictures from Verity's data sets</title>
  <link rel="icon" href="data:,">
  <style>
    body { margin: 0; font: 15px/1.4 sans-serif; color: #222; background: #fafafa; }
    main { width: 960px; margin: 0 auto; padding: 12px; }
    #gallery { display: flex; flex-wrap: wrap; gap: 16px; }
    figure { margin: 0; width: ${side}px; }
    figure img { display: block; width: ${side}px; height: ${side}px; object-fit: cover; }
    figcaption { font-size: 13px; color: #555; }
    button { font: inherit; padding: 6px 12px; margin: 12px 12px 0 0; }
  </style>
</head>
<body>
<main>
  <h1>Pictures from the data sets</h1>
  <div id="gallery">
$figures
  </div>
  <button id="load-more" type="button">Load more</button>
  <button id="counter" type="button">Clicked 0 times</button>
</main>
<script>
  let clicks = 0;
  document.getElementById("counter").addEventListener("click", (event) => {
    clicks += 1;
    event.target.textContent = "Clicked " + clicks + " times";
  });
  document.getElementById("load-more").addEventListener("click", () => {
    document.getElementById("gallery").insertAdjacentHTML("beforeend", $later);
  }, { once: true });
</script>
</body>
</html>
""")


def figure_html(picture: Picture) -> str:
    """A captioned picture inside a link (a click on it must still follow the link)."""
    caption = html.escape(picture.caption)
    return (
        f'<figure><a href="#clicked-{picture.id}"><img id="{picture.id}" src="{picture.path}"'
        f' alt="{caption}"></a><figcaption>{caption}</figcaption></figure>'
    )


def page_html() -> str:
    figures = "\n".join(f"    {figure_html(picture)}" for picture in ON_THE_PAGE)
    later = json.dumps(figure_html(LOADED_LATER))  # a JavaScript string literal
    return PAGE_TEMPLATE.substitute(side=DISPLAY_SIDE, figures=figures, later=later)


@dataclass(frozen=True)
class GallerySite:
    """The page and its pictures on 127.0.0.1, under whichever host name the browser maps there
    (the harness maps PUBLIC_TEST_HOST, so the page can pass for a public web site)."""

    port: int

    def page_url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{PAGE_PATH}"

    def picture_url(self, picture_id: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{BY_ID[picture_id].path}"


@contextmanager
def running_gallery(pictures: Mapping[str, bytes]) -> Iterator[GallerySite]:
    """Serves the page and these pictures (id -> bytes) until the block ends."""
    server = StaticServer().start()
    try:
        for picture_id, data in pictures.items():
            picture = BY_ID[picture_id]
            server.add(picture.path, data, "image/png" if picture.doubled else "image/jpeg")
        server.add(PAGE_PATH, page_html().encode(), "text/html; charset=utf-8")
        yield GallerySite(port=urlsplit(server.base_url).port or 80)
    finally:
        server.stop()


def read_pictures(data_dir: Path, pictures: Iterable[Picture] = ALL_PICTURES) -> dict[str, bytes]:
    """id -> the bytes the site serves."""
    return {picture.id: picture.read(data_dir) for picture in pictures}


@dataclass(frozen=True)
class Expected:
    """What the platform's model says about one picture, decoded the way the platform does."""

    band: str
    probability_ai: float
    abstain_reason: str | None


@dataclass(frozen=True)
class ModelJudgement:
    model_version: str  # as the platform labels it: "verity-ensemble-1.0.0"
    pictures: dict[str, Expected]  # by picture id

    def ids_in(self, band: str) -> set[str]:
        return {picture_id for picture_id, e in self.pictures.items() if e.band == band}


def judge_with_shipped_model(pictures: Mapping[str, bytes], artefact: Path) -> ModelJudgement:
    """What the ensemble at `artefact` says about each picture (id -> bytes), scored here in the
    test process, independently of the workers (whose stored verdicts the tests compare with it).
    """
    from ml.ensemble import Ensemble  # deferred: torch and ONNX Runtime load only when needed

    ensemble = Ensemble.load(artefact)
    decoded = [decode_image(data).image for data in pictures.values()]
    predictions = ensemble.predict(decoded)
    return ModelJudgement(
        model_version=ensemble.version,
        pictures={
            picture_id: Expected(p.band, p.probability_ai, p.abstain_reason)
            for picture_id, p in zip(pictures, predictions, strict=True)
        },
    )


def _doubled_png(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
    doubled = rgb.resize((rgb.width * 2, rgb.height * 2), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    doubled.save(buffer, "PNG")
    return buffer.getvalue()
