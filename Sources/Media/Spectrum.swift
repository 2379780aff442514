import CFFmpeg
import Foundation
import MouthpieceCore

/// Power spectra of fixed-size windows, through FFmpeg's real FFT (libavutil `av_tx`).
///
/// Owns its transform context and aligned buffers until deinit. Not thread-safe.
public final class Spectrum {
    public let size: Int
    private var context: OpaquePointer?
    private let transform: av_tx_fn
    private let input: UnsafeMutablePointer<Float>
    private let output: UnsafeMutablePointer<AVComplexFloat>
    private let window: [Float]

    /// A transform of `size` samples (a power of two) with a Hann window.
    public init(size: Int) {
        precondition(size >= 16 && size & (size - 1) == 0, "FFT size must be a power of two")
        self.size = size
        var scale: Float = 1
        var function: av_tx_fn? = nil
        let status = av_tx_init(&context, &function, AV_TX_FLOAT_RDFT, 0, Int32(size), &scale, 0)
        precondition(status >= 0 && function != nil, "av_tx_init failed")
        transform = function!
        input = av_malloc(size * MemoryLayout<Float>.stride + 64)!.assumingMemoryBound(to: Float.self)
        output = av_malloc((size / 2 + 2) * MemoryLayout<AVComplexFloat>.stride + 64)!
            .assumingMemoryBound(to: AVComplexFloat.self)
        window = (0..<size).map { i in Float(0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(size))) }
    }

    deinit {
        av_tx_uninit(&context)
        av_free(input)
        av_free(output)
    }

    /// The power of bins `0...size/2` of `samples[start..<start+size]` (zero outside the array).
    public func power(of samples: UnsafeBufferPointer<Float>, start: Int, into bins: inout [Float]) {
        if bins.count != size / 2 + 1 { bins = [Float](repeating: 0, count: size / 2 + 1) }
        for i in 0..<size {
            let j = start + i
            input[i] = (j >= 0 && j < samples.count) ? samples[j] * window[i] : 0
        }
        transform(context, output, input, MemoryLayout<Float>.stride)
        // FFmpeg 5.1's RDFT leaves the Nyquist bin's imaginary part unwritten; it is zero by definition.
        output[size / 2].im = 0
        for k in 0...(size / 2) {
            let c = output[k]
            bins[k] = c.re * c.re + c.im * c.im
        }
    }
}
