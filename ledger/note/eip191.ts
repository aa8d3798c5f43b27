import { verifyMessage, type Wallet } from 'ethers';

// EIP-191 personal-message signatures over the checkpoint text (UTF-8), so an Ethereum address can vouch for a
// checkpoint: hash = keccak256("\x19Ethereum Signed Message:\n" + len + text).

export function signCheckpointEip191(wallet: Wallet, checkpointText: string): Promise<string> {
  return wallet.signMessage(checkpointText);
}

/** True when `signature` over `checkpointText` recovers to `address` (case-insensitive). */
export function verifyCheckpointEip191(checkpointText: string, signature: string, address: string): boolean {
  try {
    return verifyMessage(checkpointText, signature).toLowerCase() === address.toLowerCase();
  } catch {
    // A malformed signature is just an invalid one here; the caller reports which checkpoint.
    return false;
  }
}
