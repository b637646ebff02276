# ollmlx from source: a `bun build --compile` executable plus the native shim (libmlxs.dylib) built against
# Homebrew's own mlx, so the shim always matches the installed libmlx's C++ ABI. See docs/packaging.md.
# The url and sha256 are placeholders until the first tagged release: `brew install --HEAD` works now.
class Ollmlx < Formula
  desc "Drop-in replacement for Ollama whose engine is Apple's MLX"
  homepage "https://github.com/ollmlx/ollmlx"
  url "https://github.com/ollmlx/ollmlx/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "MIT"
  head "https://github.com/ollmlx/ollmlx.git", branch: "main"

  # Bun is not in homebrew-core; like the project's own set-up, the build takes it from the `bun` npm package
  # pinned in package-lock.json, so node (npm) is the only build dependency.
  depends_on "node" => :build
  depends_on arch: :arm64
  depends_on :macos
  depends_on "mlx"

  def install
    mlx = Formula["mlx"]
    # The shim links libmlx by @rpath with an rpath to mlx's opt/ lib, which survives `brew upgrade mlx`
    # (an upgrade that changes MLX's ABI needs `brew reinstall ollmlx`, as for any C++ dependant).
    system "make", "-C", "native/mlx_c_shim", "MLX_PREFIX=#{mlx.opt_prefix}", "OUT=#{buildpath}/build"

    # package-lock.json pins every package, Bun included (the `bun` devDependency).
    system "npm", "ci", "--no-audit", "--no-fund"
    system "node_modules/.bin/bun", "build", "--compile", "--minify", "./src/index.ts", "--outfile", "build/ollmlx"

    # The shim sits next to the real executable: src/ffi/lib.ts looks beside realpath(process.execPath),
    # so bin/ollmlx can be Homebrew's usual symlink into the Cellar.
    libexec.install "build/ollmlx", "build/libmlxs.dylib"
    bin.install_symlink libexec/"ollmlx"
  end

  service do
    run [opt_bin/"ollmlx", "serve"]
    keep_alive true
    working_dir var
    log_path var/"log/ollmlx.log"
    error_log_path var/"log/ollmlx.log"
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/ollmlx --version 2>&1")

    port = free_port
    ENV["OLLAMA_HOST"] = "127.0.0.1:#{port}"
    ENV["OLLMLX_MODELS"] = (testpath/"models").to_s
    url = "http://127.0.0.1:#{port}/api/version"
    pid = spawn bin/"ollmlx", "serve"
    begin
      20.times do
        break if quiet_system "curl", "-sf", url

        sleep 0.5
      end
      assert_match "\"version\":\"#{version}\"", shell_output("curl -s #{url}")
    ensure
      Process.kill "TERM", pid
      Process.wait pid
    end
  end
end
