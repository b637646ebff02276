# Placeholder until the packaging issue: it describes the intended install (a `bun build --compile`
# binary plus the native shim built against Homebrew's mlx), but it is not yet a working formula.
class Ollmlx < Formula
  desc "Drop-in replacement for Ollama whose engine is Apple's MLX"
  homepage "https://github.com/ollmlx/ollmlx"
  url "https://github.com/ollmlx/ollmlx/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "MIT"

  depends_on "bun" => :build
  depends_on arch: :arm64
  depends_on :macos
  depends_on "mlx"

  def install
    odie "ollmlx's formula is a placeholder until the packaging issue lands"
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/ollmlx --version")
  end
end
