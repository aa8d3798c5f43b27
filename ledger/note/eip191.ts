import { getAddress, verifyMessage, type Wallet } from 'ethers';

// EIP-191 personal-message signatures over the checkpoint text (UTF-8), so an Ethereum address can vouch for a
// checkpoint: hash = keccak256("\x19Ethereum Signed Message:\n" + len + text).

export function signCheckpointEip191(wallet: Wallet, checkpointText: string): Promise<string> {
  return wallet.signMessage(checkpointText);
}

// The one spelling `wallet.signMessage` produces: lowercase r || s || v with v 27 or 28. ethers would also
// accept upper case, v 0/1 and the 64-byte compact form, so a stored signature could be re-spelled
// without the signature check noticing.
const SIGNATURE = /^0x[0-9a-f]{128}(1b|1c)$/;

/**
 * True when `signature` (as the signer writes it) over `checkpointText` recovers to `address`, which must be
 * EIP-55 checksummed as Arbiter publishes it.
 */
export function verifyCheckpointEip191(checkpointText: string, signature: string, address: string): boolean {
  try {
    if (typeof signature !== 'string' || !SIGNATURE.test(signature)) return false;
    if (getAddress(address) !== address) return false;
    return verifyMessage(checkpointText, signature) === address;
  } catch {
    // A malformed signature or address is just an invalid one here; the caller reports which checkpoint.
    return false;
  }
}
